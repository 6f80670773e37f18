// RegistryServiceImpl with the file artifact store (FileArtifactStore) over a
// real Postgres registry store: streamed uploads, file:// and sha256:
// references, the gateway's deployment read, and bad references.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <pqxx/pqxx>

#include "services/registry/registry_service_fixture.h"

namespace mlops::registry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class RegistryServiceFilePgTest : public RegistryServicePgTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/registry-service-files-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_store_root_ = dir_ + "/store";
    import_dirs_ = {dir_ + "/exports"};
    fs::create_directories(dir_ + "/exports");
    RegistryServicePgTest::SetUp();
  }
  void TearDown() override {
    RegistryServicePgTest::TearDown();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  int64_t Rows(const std::string& sql) {
    absl::StatusOr<int64_t> n = pool_->WithTransaction([&](pqxx::transaction_base& txn) {
      return txn.exec(sql)[0][0].as<int64_t>();
    });
    EXPECT_THAT(n.status(), IsOk());
    return n.value_or(-1);
  }
  int64_t StoredFiles() {
    int64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(file_store_root_)) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }
  // The header of Header(bytes) with an artifact reference instead of chunks.
  pb::RegisterModelVersionHeader ByReference(const std::string& bytes, const std::string& uri,
                                             const std::string& sha) {
    pb::RegisterModelVersionHeader h = Header(bytes, 0.8);
    h.mutable_artifact_reference()->set_uri(uri);
    h.mutable_artifact_reference()->set_sha256(sha);
    return h;
  }
  std::string ReadForDeployment(int64_t version, std::string* sha_out) {
    pb::GetArtifactRequest req;
    req.mutable_version()->set_model("churn");
    req.mutable_version()->set_version(version);
    req.set_purpose(pb::ARTIFACT_READ_PURPOSE_DEPLOYMENT);
    req.set_endpoint("churn-live");
    auto ctx = As("t-viewer");
    auto reader = stub_->GetArtifact(ctx.get(), req);
    pb::GetArtifactResponse msg;
    if (!reader->Read(&msg)) return "<no info>";
    *sha_out = msg.info().sha256();
    std::string got;
    while (reader->Read(&msg)) got += msg.chunk();
    grpc::Status st = reader->Finish();
    return st.ok() ? got : "<" + st.error_message() + ">";
  }

  std::string dir_;
};

TEST_F(RegistryServiceFilePgTest, StreamedArtifactLandsInTheDirectoryAndServesDeployment) {
  std::string bytes(300000, 'q');
  for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i);
  pb::ModelVersion v;
  ASSERT_TRUE(Register(Header(bytes, 0.8), bytes.substr(0, 10), &v).error_code() ==
              grpc::StatusCode::INVALID_ARGUMENT);  // a short upload stores nothing
  EXPECT_EQ(StoredFiles(), 0);
  grpc::Status st = Register(Header(bytes, 0.8), bytes, &v);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string sha = Sha256Hex(bytes);
  EXPECT_EQ(v.artifact().sha256(), sha);
  EXPECT_EQ(v.artifact().size_bytes(), static_cast<int64_t>(bytes.size()));
  EXPECT_TRUE(fs::exists(file_store_root_ + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2)));
  EXPECT_EQ(StoredFiles(), 1);
  EXPECT_EQ(Rows("SELECT count(*) FROM artifacts"), 0);  // nothing in Postgres

  std::string served_sha;
  EXPECT_TRUE(ReadForDeployment(1, &served_sha) == bytes);
  EXPECT_EQ(served_sha, sha);
  EXPECT_EQ(Rows("SELECT count(*) FROM audit_log WHERE event_type = 12 AND "
                 "endpoint = 'churn-live' AND details_json LIKE '%DEPLOYMENT%'"),
            1);
}

TEST_F(RegistryServiceFilePgTest, FileReferenceIsImportedAndSha256ReferenceReusesIt) {
  const std::string bytes = "{\"learner\":\"exported model\"}";
  const std::string sha = Sha256Hex(bytes);
  const std::string path = dir_ + "/exports/run-7/model.json";
  fs::create_directories(dir_ + "/exports/run-7");
  std::ofstream(path, std::ios::binary) << bytes;

  pb::ModelVersion v1;
  grpc::Status st = Register(ByReference(bytes, "file://" + path, sha), "", &v1);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(v1.artifact().sha256(), sha);
  EXPECT_EQ(v1.artifact().size_bytes(), static_cast<int64_t>(bytes.size()));
  fs::remove(path);  // the registry holds its own copy
  pb::ModelVersion v2;
  ASSERT_TRUE(Register(ByReference(bytes, "sha256:" + sha, ""), "", &v2).ok());
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(StoredFiles(), 1);  // deduplicated
  std::string served_sha;
  EXPECT_EQ(ReadForDeployment(2, &served_sha), bytes);
}

TEST_F(RegistryServiceFilePgTest, BadReferencesNameTheFieldAndChangeNothing) {
  const std::string bytes = "model";
  const std::string sha = Sha256Hex(bytes);
  const std::string path = dir_ + "/exports/model.bin";
  std::ofstream(path, std::ios::binary) << bytes;
  pb::ModelVersion v;
  grpc::Status s = Register(ByReference(bytes, "sha256:" + Sha256Hex("unknown"), ""), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("is not stored"));
  s = Register(ByReference(bytes, "file://" + dir_ + "/exports/missing.bin", sha), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("header.artifact_reference.uri"));
  s = Register(ByReference(bytes, "file://" + path, ""), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("header.artifact_reference.sha256: required"));
  s = Register(ByReference(bytes, "file://" + path, Sha256Hex("other")), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("artifact sha256 mismatch"));
  s = Register(ByReference(bytes, "s3://bucket/model", sha), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("header.artifact_reference.uri"));
  s = Register(ByReference(bytes, "sha256:" + sha, Sha256Hex("other")), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("header.artifact_reference.sha256"));
  s = Register(ByReference(bytes, "file:///etc/hostname", sha), "", &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(StoredFiles(), 0);
  EXPECT_EQ(Rows("SELECT count(*) FROM versions"), 0);
  EXPECT_EQ(Rows("SELECT count(*) FROM audit_log"), 0);
}

}  // namespace
}  // namespace mlops::registry
