#include "tests/test_env.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/account/owner_access.h"
#include "core/crypto/hash.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"

namespace ktlog {

std::string NewTempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* base = getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", tag, "-", getpid(),
                                 "-", counter.fetch_add(1));
  EXPECT_TRUE(MakeDirs(dir, 0700).ok());
  return dir;
}

TestAccount::TestAccount(std::string id)
    : id_(std::move(id)),
      key_(std::make_unique<Ed25519PrivateKey>(Ed25519PrivateKey::Generate())) {
}

TestAccount TestAccount::StolenFrom(const TestAccount& other) {
  TestAccount t(other.id_);
  t.key_ = std::make_unique<Ed25519PrivateKey>(
      *Ed25519PrivateKey::FromSeed(other.key_->seed()));
  t.version_ = other.version_;
  return t;
}

std::string TestAccount::DeviceKey(const std::string& device_id) {
  return Sha256(absl::StrCat("device key of ", device_id)).bytes();
}

DeviceRecord TestAccount::Next(Operation op, const std::string& device_id,
                               std::string key, bool advance) {
  DeviceRecord r;
  r.operation = op;
  r.account_id = id_;
  r.device_id = device_id;
  r.key = std::move(key);
  r.account_version = version_ + 1;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.Sign(*key_);
  if (advance) ++version_;
  return r;
}

OwnerProof TestAccount::Owner(const std::string& origin, uint64_t from_version,
                              std::optional<uint64_t> tree_size,
                              const std::string& account_id) const {
  const std::string& id = account_id.empty() ? id_ : account_id;
  static absl::Mutex mu;
  static uint64_t last = 0;
  uint64_t ts;
  {
    absl::MutexLock lock(&mu);
    last = std::max(RealClock::Get()->NowMillis(), last + 1);
    ts = last;
  }
  Ed25519PrivateKey access =
      *Ed25519PrivateKey::FromSeed(Sha256("access key of " + id_).bytes());
  return SignHistoryRequest(
      access,
      key_->Sign(OwnerGrantMessage(origin, id, access.public_key().bytes())),
      origin, id, from_version, tree_size, ts);
}

DeviceRecord TestAccount::Add(const std::string& device_id, bool advance) {
  return Next(Operation::kAddDevice, device_id, DeviceKey(device_id), advance);
}

DeviceRecord TestAccount::Remove(const std::string& device_id, bool advance) {
  return Next(Operation::kRemoveDevice, device_id, DeviceKey(device_id),
              advance);
}

DeviceRecord TestAccount::RecordBackup(const BackupRef& backup, bool advance) {
  return Next(Operation::kRecordBackup, "", backup.Encode(), advance);
}

DeviceRecord TestAccount::Rotate(bool advance) {
  auto next =
      std::make_unique<Ed25519PrivateKey>(Ed25519PrivateKey::Generate());
  DeviceRecord r = Next(Operation::kRotateAccountKey, "",
                        next->public_key().bytes(), advance);
  if (advance) key_ = std::move(next);
  return r;
}

DeviceRecord TestAccount::RotateTo(const Ed25519PrivateKey& next) {
  DeviceRecord r =
      Next(Operation::kRotateAccountKey, "", next.public_key().bytes(), true);
  key_ = std::make_unique<Ed25519PrivateKey>(
      *Ed25519PrivateKey::FromSeed(next.seed()));
  return r;
}

std::unique_ptr<LogEnv> LogEnv::Start(LogServerOptions options,
                                      const LogEnv* same_keys_as) {
  std::unique_ptr<LogEnv> env(new LogEnv());
  env->options_ = std::move(options);
  env->options_.data_dir = NewTempDir("ktlog-data");
  env->options_.listen_address = "127.0.0.1:0";
  auto signer = same_keys_as != nullptr
                    ? NoteSigner::Parse(same_keys_as->signer().ToString())
                    : NoteSigner::Generate("test.example/log");
  EXPECT_TRUE(signer.ok());
  env->signer_ = std::make_unique<NoteSigner>(*std::move(signer));
  env->vrf_ = std::make_unique<VrfPrivateKey>(
      same_keys_as != nullptr
          ? *VrfPrivateKey::FromSeed(same_keys_as->vrf().seed())
          : VrfPrivateKey::Generate());
  env->log_key_ =
      LogPublicKey{env->signer_->verifier_key(), env->vrf_->public_key()};
  env->StartServer();
  return env;
}

void LogEnv::StartServer() {
  auto signer = NoteSigner::Parse(signer_->ToString());
  EXPECT_TRUE(signer.ok());
  auto server = LogServer::Start(
      *std::move(signer), *VrfPrivateKey::FromSeed(vrf_->seed()), options_);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return;
  server_ = *std::move(server);
  client_ = LogClient::Create(server_->address());
  feed_ = std::make_unique<GrpcFeed>(client_.get());
}

LogEnv::~LogEnv() { Stop(); }

void LogEnv::Stop() {
  feed_.reset();
  client_.reset();
  if (server_ != nullptr) server_->Shutdown();
  server_.reset();
}

void LogEnv::Restart(const std::function<void(LogServerOptions*)>& change) {
  Stop();
  if (change) change(&options_);
  StartServer();
}

LogClient::WriteResult LogEnv::Append(const DeviceRecord& record) {
  auto result = client_->Write(record.operation, record.Encode(), true);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : LogClient::WriteResult();
}

LogCheckpoint LogEnv::Checkpoint() {
  auto note = client_->GetCheckpoint(0);
  EXPECT_TRUE(note.ok()) << note.status();
  if (!note.ok()) return LogCheckpoint();
  auto cp = OpenLogCheckpoint(*note, log_key_.checkpoint_key);
  EXPECT_TRUE(cp.ok()) << cp.status();
  return cp.ok() ? *cp : LogCheckpoint();
}

}  // namespace ktlog
