#include "digsig/archive/parallel_gzip.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "support/test_support.hpp"

namespace digsig::archive {
namespace {

std::string gunzip(const std::filesystem::path& file) {
  std::string out;
  FILE* p = ::popen(("gzip -dc " + file.string()).c_str(), "r");
  char buf[65536];
  while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << "gzip must accept the file";
  return out;
}

TEST(ParallelGzipTest, ManyBlocksDecompressToTheInputInOrder) {
  test::TempDir dir;
  std::mt19937 rng(7);
  std::string input;
  for (int i = 0; i < 5'500'000; ++i) input.push_back(static_cast<char>('a' + rng() % 6));
  ParallelGzip gz(1, 3);
  ASSERT_TRUE(gz.open(dir.path() / "out.gz"));
  // Odd write sizes, so block boundaries fall inside writes.
  for (std::size_t pos = 0; pos < input.size(); pos += 77777) {
    ASSERT_TRUE(gz.write(input.data() + pos, std::min<std::size_t>(77777, input.size() - pos)));
  }
  ASSERT_TRUE(gz.finish());
  auto size = std::filesystem::file_size(dir.path() / "out.gz");
  EXPECT_LT(size, input.size() / 2) << "it compresses";
  EXPECT_EQ(gunzip(dir.path() / "out.gz"), input);
}

TEST(ParallelGzipTest, SmallAndEmptyStreams) {
  test::TempDir dir;
  {
    ParallelGzip gz(6, 2);
    ASSERT_TRUE(gz.open(dir.path() / "small.gz"));
    ASSERT_TRUE(gz.write("hello", 5));
    ASSERT_TRUE(gz.finish());
  }
  EXPECT_EQ(gunzip(dir.path() / "small.gz"), "hello");
}

}  // namespace
}  // namespace digsig::archive
