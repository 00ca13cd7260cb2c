#include "digsig/formats/module_signature.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace digsig::formats {
namespace {

TEST(ModuleSignatureTest, AppendsBlobTrailerAndMarker) {
  std::string module = "ELFDATA";
  std::vector<unsigned char> blob(300, 0xab);
  append_module_signature(module, blob);
  ASSERT_EQ(module.size(), 7u + 300 + 12 + 28);
  EXPECT_TRUE(module.ends_with("~Module signature appended~\n"));
  auto trailer = module.substr(7 + 300, 12);
  EXPECT_EQ(trailer[2], 2) << "id_type PKEY_ID_PKCS7";
  EXPECT_EQ(static_cast<unsigned char>(trailer[10]), 0x01);  // 300 = 0x0000012c, big-endian
  EXPECT_EQ(static_cast<unsigned char>(trailer[11]), 0x2c);
  std::string_view content, pkcs7;
  ASSERT_TRUE(split_module_signature(module, content, pkcs7));
  EXPECT_EQ(content, "ELFDATA");
  EXPECT_EQ(pkcs7.size(), 300u);
}

TEST(ModuleSignatureTest, StripsEverySignatureSignFileAppended) {
  std::string module = "ELFDATA";
  append_module_signature(module, std::vector<unsigned char>(10, 1));
  append_module_signature(module, std::vector<unsigned char>(20, 2));
  EXPECT_EQ(unsigned_module_length(module), 7u);
  EXPECT_EQ(unsigned_module_length("plain module"), 12u);
}

TEST(ModuleSignatureTest, MalformedTrailersCountAsContent) {
  std::string fake = std::string(12, '\0') + std::string(k_module_sig_magic);
  EXPECT_EQ(unsigned_module_length(fake), fake.size()) << "sig_len 0 / wrong id_type";
  std::string huge = "x" + std::string(8, '\0');
  huge[3] = 2;
  huge += std::string("\x7f\xff\xff\xff", 4);
  huge += k_module_sig_magic;
  EXPECT_EQ(unsigned_module_length(huge), huge.size()) << "sig_len larger than the module";
}

}  // namespace
}  // namespace digsig::formats
