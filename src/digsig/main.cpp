#include "digsig/app/app.hpp"

int main(int argc, char** argv) { return digsig::app::run(argc, argv); }
