#include "digsig/formats/tegra_manifest.hpp"

#include <gtest/gtest.h>

namespace digsig::formats {
namespace {

TEST(TegraManifestTest, ReadsNameValueLinesInOrder) {
  auto m = parse_tegra_manifest(
      "DTBFILE=tegra194-p2888-0001-p2822-0000.dtb\r\nODMDATA=0x1090000\n\nLNXFILE=boot.img  \n"
      "fuselevel=fuselevel_production\nEMPTY=\nEQ=a=b\nODMDATA=0x9190000\n");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->variables.size(), 6u);
  EXPECT_EQ(m->variables[0].first, "DTBFILE");
  EXPECT_EQ(*m->find("ODMDATA"), "0x9190000");  // a later line replaces an earlier one
  EXPECT_EQ(*m->find("LNXFILE"), "boot.img");   // trailing white space dropped
  EXPECT_EQ(*m->find("fuselevel"), "fuselevel_production");
  EXPECT_EQ(*m->find("EMPTY"), "");
  EXPECT_EQ(*m->find("EQ"), "a=b");
  EXPECT_FALSE(m->has("MISSING"));
}

TEST(TegraManifestTest, RefusesLinesThatAreNotNameValue) {
  struct Case {
    const char* text;
    const char* message_part;
  };
  for (const auto& c : {Case{"DTBFILE=x\njust words\n", "line 2 is not NAME=value"},
                        Case{"=value\n", "line 1 is not NAME=value"},
                        Case{"A B=c\n", "is not a variable name"},
                        Case{"1ABC=c\n", "is not a variable name"},
                        Case{"PATH=/tmp/evil\n", "may not be set by a client"},
                        Case{"LD_PRELOAD=./evil.so\n", "may not be set by a client"},
                        Case{"BASH_ENV=./evil.sh\n", "may not be set by a client"},
                        Case{"PYTHONPATH=.\n", "may not be set by a client"},
                        Case{"A=b\x01\n", "control character"},
                        Case{"LNXFILE=/srv/keys/x/tegrasign/rsa_priv.pem\n", "outside the working directory"},
                        Case{"BPFDTB_FILE=../keys/rsa_priv.pem\n", "outside the working directory"},
                        Case{"EMMC_BCTS=a.cfg,/etc/b.cfg\n", "outside the working directory"},
                        Case{"X=a/../../b\n", "outside the working directory"}}) {
    auto m = parse_tegra_manifest(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error().kind, ErrorKind::bad_request);
    EXPECT_TRUE(m.error().message.starts_with("Invalid manifest")) << m.error().message;
    EXPECT_NE(m.error().message.find(c.message_part), std::string::npos) << m.error().message;
  }
}

TEST(TegraManifestTest, RelativeNamesAndPlainValuesPass) {
  auto m = parse_tegra_manifest("DTBFILE=sub/board.dtb\nEMMC_BCTS=a.cfg,b.cfg\nODMDATA=gbe-uphy-config-8\nX=a..b\n");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m->find("DTBFILE"), "sub/board.dtb");
}

TEST(TegraManifestTest, MachineMayAppear) {
  auto m = parse_tegra_manifest("MACHINE=jetson\n");
  ASSERT_TRUE(m);
  EXPECT_TRUE(allowed_manifest_name("MACHINE"));
  EXPECT_FALSE(allowed_manifest_name("LD_LIBRARY_PATH"));
}

TEST(TegraManifestTest, SplitsBupgenSpecsAndUpperCasesNames) {
  auto specs = parse_bupgen_specs(
      " boardid=3701;fab=300;boardsku=0000;boardrev=;chiprev=\tboardid=3701;fab=300;boardsku=0004;url=a=b ");
  ASSERT_TRUE(specs) << specs.error().message;
  ASSERT_EQ(specs->size(), 2u);
  const auto& first = (*specs)[0];
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[0], (std::pair<std::string, std::string>{"BOARDID", "3701"}));
  EXPECT_EQ(first[3], (std::pair<std::string, std::string>{"BOARDREV", ""}));
  EXPECT_EQ((*specs)[1][2].second, "0004");
  EXPECT_EQ((*specs)[1][3], (std::pair<std::string, std::string>{"URL", "a=b"}));
}

TEST(TegraManifestTest, RefusesBadBupgenSpecs) {
  for (const char* bad : {"", "   ", "boardid", "boardid=1;fab", "ld_preload=x", "path=/tmp", "a b=c;d",
                          "boardid=1;dtb=../keys/k.pem"}) {
    auto specs = parse_bupgen_specs(bad);
    ASSERT_FALSE(specs) << bad;
    EXPECT_TRUE(specs.error().message.starts_with("Invalid manifest: BUPGENSPECS")) << specs.error().message;
  }
}

}  // namespace
}  // namespace digsig::formats
