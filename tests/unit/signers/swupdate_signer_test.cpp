#include "digsig/signers/swupdate_signer.hpp"

#include <gtest/gtest.h>

#include "support/test_support.hpp"

namespace digsig::signers {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class SwupdateSignerTest : public ::testing::Test {
 protected:
  SwupdateSignerTest() : job_(dir_.path() / "job", jobs::Clock::now() + 10s) {
    fs::create_directories(job_.dir());
    keys_.put("poky", "swupdate", "rsa-private.key", rsa_.private_pem);
    keys_.put("poky", "swupdate", "cms-private.key", rsa_.private_pem);
    keys_.put("poky", "swupdate", "cms.cert", test::self_signed_cert_pem(rsa_.key.get(), "poky"));
    keys_.put("broken", "swupdate", "rsa-private.key", "garbage");
    keys_.put("ec", "swupdate", "rsa-private.key", test::make_key("EC").private_pem);
    signer_ = create_swupdate_signer(SignerContext{keys_, settings_});
    test::write_file(job_.dir() / "upload-1", "software = {};\n");
  }

  SignRequest request(std::map<std::string, std::string, std::less<>> fields) {
    SignRequest r;
    r.fields = std::move(fields);
    r.files["sw-description"] = UploadedFile{.path = job_.dir() / "upload-1"};
    return r;
  }

  test::TempDir dir_;
  jobs::Job job_;
  test::FakeKeyStore keys_;
  SignerSettings settings_;
  test::TestKey rsa_ = test::make_key();
  std::unique_ptr<Signer> signer_;
};

TEST_F(SwupdateSignerTest, SignsWithEveryMethod) {
  for (const char* method : {"RSA", "RSAPSS", "CMS", "rsa"}) {
    auto result = signer_->sign(request({{"distro", "poky"}, {"method", method}}), job_);
    ASSERT_TRUE(result) << method << ": " << result.error().message;
    EXPECT_EQ(result->filename, "sw-description.sig");
    EXPECT_GT(fs::file_size(result->file), 200u);
  }
}

TEST_F(SwupdateSignerTest, ErrorsNameWhatIsWrong) {
  struct Case {
    std::map<std::string, std::string, std::less<>> fields;
    ErrorKind kind;
    std::string text;
  };
  std::vector<Case> cases = {
      {{}, ErrorKind::bad_request, "Distro name missing"},
      {{{"distro", "poky"}, {"method", "DSA"}}, ErrorKind::bad_request, "unknown method 'DSA'"},
      {{{"distro", "poky"}, {"backend", "magic"}}, ErrorKind::bad_request, "backend 'magic'"},
      {{{"distro", "../etc"}}, ErrorKind::bad_request, "distro '../etc'"},
      {{{"distro", "a/b"}}, ErrorKind::bad_request, "distro 'a/b'"},
      {{{"distro", "nope"}}, ErrorKind::not_found, "no swupdate keys are configured for 'nope'"},
      {{{"distro", "broken"}}, ErrorKind::misconfigured, "'rsa-private.key' (swupdate) of 'broken' is not a usable private key"},
      {{{"distro", "ec"}}, ErrorKind::misconfigured, "is not an RSA key"},
      {{{"distro", "broken"}, {"method", "CMS"}}, ErrorKind::not_found, "key 'cms.cert' (swupdate) of 'broken' does not exist"},
  };
  for (const auto& c : cases) {
    auto result = signer_->sign(request(c.fields), job_);
    ASSERT_FALSE(result) << c.text;
    EXPECT_EQ(result.error().kind, c.kind) << c.text;
    EXPECT_NE(result.error().message.find(c.text), std::string::npos) << result.error().message;
  }
}

TEST_F(SwupdateSignerTest, MissingFileIsNamed) {
  SignRequest r;
  r.fields = {{"distro", "poky"}};
  auto result = signer_->sign(r, job_);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("'sw-description'"), std::string::npos);
}

}  // namespace
}  // namespace digsig::signers
