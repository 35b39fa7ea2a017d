// End-to-end tests of the shipped binaries as a user runs them: real
// processes, real files, real sockets.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/process_env.h"
#include "tests/subprocess.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

constexpr char kKeygen[] = "tools/ktlog-keygen";
constexpr char kServer[] = "log/ktlog-server";
constexpr char kKtctl[] = "client/ktctl";
constexpr char kAdmin[] = "tools/ktlog-admin";

std::string Trim(const std::string& s) { return TrimRight(s); }

int Lines(const std::string& s) {
  std::vector<std::string> lines =
      absl::StrSplit(Trim(s), '\n', absl::SkipEmpty());
  return static_cast<int>(lines.size());
}

using Keyed = LogKeyFiles;
Keyed MakeKey() { return MakeLogKey(); }

TEST(KeygenTest, WritesPrivateKeysAndPrintsTheLogKey) {
  Keyed k = MakeKey();
  EXPECT_TRUE(absl::StartsWith(k.log_key, "e2e.example/log+"));
  auto parsed = LogPublicKey::Parse(k.log_key);
  EXPECT_TRUE(parsed.ok()) << parsed.status() << ": " << k.log_key;
  struct stat st;
  ASSERT_EQ(stat(k.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RunResult show = RunProgram({kKeygen, "--show=" + k.key_file});
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_EQ(Trim(show.out), k.log_key);
  RunResult again = RunProgram({kKeygen, "--name=x", "--out=" + k.key_file});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("refusing to overwrite"), std::string::npos)
      << again.out;
  EXPECT_EQ(
      RunProgram({kKeygen, "--name=x", "--out=/tmp/y", "--type=rsa"}).exit_code,
      2);
  EXPECT_EQ(RunProgram({kKeygen, "--name=has space", "--out=" + k.dir + "/z"})
                .exit_code,
            2);
  EXPECT_EQ(RunProgram({kKeygen, "--help"}).exit_code, 0);
  // A witness key: one line, and --show prints its verifier key.
  RunResult witness = RunProgram({kKeygen, "--name=w.example", "--type=witness",
                                  "--out=" + k.dir + "/w.key"});
  ASSERT_EQ(witness.exit_code, 0) << witness.out;
  EXPECT_EQ(Trim(witness.out).find(','), std::string::npos) << witness.out;
  EXPECT_EQ(Trim(RunProgram({kKeygen, "--show=" + k.dir + "/w.key"}).out),
            Trim(witness.out));
}

// Each start-up error is one clear line and a non-zero exit, not a crash.
TEST(ServerStartupTest, ErrorsAreOneClearLine) {
  Keyed k = MakeKey();
  std::string data = k.dir + "/data";
  auto expect_one_line = [](const RunResult& r, int code,
                            const std::string& needle) {
    EXPECT_EQ(r.exit_code, code) << r.out;
    EXPECT_EQ(Lines(r.out), 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_TRUE(absl::StartsWith(r.out, "ktlog-server: ")) << r.out;
  };
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data}), 2,
                  "--key_file is required");
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                              "--key_file=" + k.dir + "/missing.key"}),
                  1, "does not exist");
  std::ofstream(k.dir + "/not-a-key") << "hello\n";
  chmod((k.dir + "/not-a-key").c_str(), 0600);
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                              "--key_file=" + k.dir + "/not-a-key"}),
                  1, "is not a ktlog key file");
  RunProgram({kKeygen, "--name=w.example", "--type=witness",
              "--out=" + k.dir + "/witness.key"});
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                              "--key_file=" + k.dir + "/witness.key"}),
                  1, "holds no VRF key");
  std::ofstream(k.dir + "/plainfile") << "x";
  expect_one_line(
      RunProgram({kServer, "--plaintext",
                  "--data_dir=" + k.dir + "/plainfile/data",
                  "--key_file=" + k.key_file, "--listen=127.0.0.1:0"}),
      1, "cannot open data dir");
  expect_one_line(
      RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                  "--key_file=" + k.key_file, "--origin=other.example/log"}),
      2, "differs from the signing key's name");
  expect_one_line(RunProgram({kServer, "--plaintext", "--bogus"}), 2,
                  "unknown flag --bogus");
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                              "--key_file=" + k.key_file, "--listen=nonsense"}),
                  1, "not host:port");

  // Port in use.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::string busy = absl::StrCat("--listen=127.0.0.1:", ntohs(sa.sin_port));
  expect_one_line(RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                              "--key_file=" + k.key_file, busy}),
                  1, "Address already in use");
  close(fd);

  // A data dir made by another log (key).
  auto s =
      ServerProcess::Start({"--data_dir=" + data, "--key_file=" + k.key_file});
  // The same data dir twice at once.
  expect_one_line(
      RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                  "--key_file=" + k.key_file, "--listen=127.0.0.1:0"}),
      1, "is in use by another process");
  EXPECT_EQ(s->Stop(), 0);
  Keyed other = MakeKey();
  expect_one_line(
      RunProgram({kServer, "--plaintext", "--data_dir=" + data,
                  "--key_file=" + other.key_file, "--listen=127.0.0.1:0"}),
      1, "belongs to log");
}

nlohmann::json Json(const RunResult& r) { return JsonOf(r); }

// A copy of the committed test TLS key in `dir`, mode 0600 (a checkout does
// not keep the mode, and a secret file must be its owner's only).
std::string OwnersCopy(const std::string& file, const std::string& dir) {
  absl::StatusOr<std::string> text = ReadFileBounded(file, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  std::string path = dir + "/" + file.substr(file.rfind('/') + 1);
  EXPECT_TRUE(WriteFileAtomically(path, text.value_or(""), 0600).ok());
  return path;
}

// Issue 20, 2: one rule for every secret file: accessible by its owner
// only. The log key, a witness key, the TLS key and a user's account key
// are each refused with the file, its mode and the fix.
// Logs for a collector (docs/operations.md, "Logs"): with
// --log_format=json every line on stderr is one JSON object with the time,
// severity, program and message of the same events the text log has; a
// start-up error too. stdout (the address and log key) stays as it is.
TEST(ServerLogsTest, JsonLinesCarryTheSameEvents) {
  Keyed k = MakeKey();
  RunResult bad =
      RunProgram({kServer, "--plaintext", "--log_format=xml",
                  "--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--log_format is text or json"), std::string::npos)
      << bad.out;
  RunResult failed =
      RunProgram({kServer, "--plaintext", "--log_format=json",
                  "--data_dir=" + k.dir + "/data", "--key_file=/nonexistent"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out;
  nlohmann::json error = nlohmann::json::parse(failed.out, nullptr, false);
  ASSERT_TRUE(error.is_object()) << failed.out;
  EXPECT_EQ(error["severity"], "ERROR");
  EXPECT_EQ(error["program"], "ktlog-server");

  auto s =
      ServerProcess::Start({"--data_dir=" + k.dir + "/data",
                            "--key_file=" + k.key_file, "--log_format=json"});
  auto client = LogClient::Create(s->address());
  absl::Status refused =
      client->Write(Operation::kAddDevice, "not a record", false).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Stop(), 0);
  std::string out = s->process()->ReadAll(absl::Now() + absl::Seconds(10));
  std::vector<std::string> messages;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "ktlog-server: ")) continue;  // stdout
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j.size(), 4u) << line;
    EXPECT_EQ(j["program"], "ktlog-server") << line;
    EXPECT_TRUE(j["severity"] == "INFO" || j["severity"] == "WARNING" ||
                j["severity"] == "ERROR")
        << line;
    EXPECT_EQ(j["time"].get<std::string>().size(), 24u) << line;
    messages.push_back(j["message"]);
  }
  auto has = [&](const std::string& needle) {
    return std::any_of(messages.begin(), messages.end(), [&](const auto& m) {
      return m.find(needle) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("AddDevice refused")) << out;
  EXPECT_TRUE(has("SIGTERM; shutting down")) << out;
}

TEST(SecretFilesTest, EveryKeyFileIsItsOwnersOnly) {
  Keyed k = MakeKey();
  auto expect_refused = [](const RunResult& r, const std::string& file,
                           const std::string& mode) {
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(
        r.out.find(file + " is a secret key file but its mode is " + mode),
        std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("chmod 600 " + file), std::string::npos) << r.out;
  };
  chmod(k.key_file.c_str(), 0644);
  expect_refused(
      RunProgram({kServer, "--plaintext", "--data_dir=" + k.dir + "/data",
                  "--key_file=" + k.key_file, "--listen=127.0.0.1:0"}),
      k.key_file, "0644");
  chmod(k.key_file.c_str(), 0600);
  const std::string tls = "tests/testdata/tls";
  std::string tls_key = OwnersCopy(tls + "/server.key", k.dir);
  chmod(tls_key.c_str(), 0640);
  expect_refused(
      RunProgram({kServer, "--data_dir=" + k.dir + "/data",
                  "--key_file=" + k.key_file, "--listen=127.0.0.1:0",
                  "--tls_cert=" + tls + "/server.pem", "--tls_key=" + tls_key}),
      tls_key, "0640");
  std::string witness = k.dir + "/witness.key";
  ASSERT_EQ(RunProgram({kKeygen, "--name=w.example", "--type=witness",
                        "--out=" + witness})
                .exit_code,
            0);
  chmod(witness.c_str(), 0604);
  expect_refused(
      RunProgram({"auditor/ktlog-auditor", "--plaintext", "--log=127.0.0.1:1",
                  "--log_key=" + k.log_key, "--key_file=" + witness,
                  "--state_dir=" + k.dir + "/w"}),
      witness, "0604");
  std::string state = k.dir + "/alice";
  ASSERT_EQ(Ktctl(state, "127.0.0.1:1",
                  {"init", "--account=alice@example.com", "--device=phone",
                   "--log_key=" + k.log_key, "--allow_no_witnesses"})
                .exit_code,
            0);
  chmod((state + "/account.key").c_str(), 0644);
  expect_refused(Ktctl(state, "127.0.0.1:1", {"code", "public"}),
                 state + "/account.key", "0644");
}

// The Quick start story through real processes: keygen, server, ktctl;
// SIGUSR1 backup; graceful SIGTERM; restart.
TEST(EndToEndTest, KtctlAgainstARealServer) {
  Keyed k = MakeKey();
  std::string data = k.dir + "/data", backups = k.dir + "/backups";
  auto s = ServerProcess::Start(
      {"--data_dir=" + data, "--key_file=" + k.key_file,
       "--backup_dir=" + backups, "--http_listen=127.0.0.1:0"});
  auto ktctl = [&](const std::string& who, std::vector<std::string> args) {
    return Ktctl(k.dir + "/" + who, s->address(), args);
  };
  // A log key without witnesses is refused unless asked for (issue 12).
  RunResult r = ktctl("alice", {"init", "--account=alice@example.com",
                                "--device=phone", "--log_key=" + k.log_key});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--allow_no_witnesses"), std::string::npos) << r.out;
  r = ktctl("alice", {"init", "--account=alice@example.com", "--device=phone",
                      "--log_key=" + k.log_key, "--allow_no_witnesses"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  struct stat st;
  ASSERT_EQ(stat((k.dir + "/alice/account.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  r = ktctl("alice", {"register"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["leaf_index"], 0);
  r = ktctl("alice", {"device", "add", "laptop"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["leaf_index"], 1);
  r = ktctl("alice", {"device", "list"});
  EXPECT_EQ(Json(r).size(), 2u);
  r = ktctl("alice", {"checkpoint"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json cp = Json(r);
  EXPECT_EQ(cp["size"], 2);
  r = ktctl("alice", {"proof", "inclusion", "--index=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // The same public log read from the tiles (docs/tiles.md).
  ASSERT_FALSE(s->tiles_url().empty());
  std::string tiles = "--tiles=" + s->tiles_url();
  r = ktctl("alice", {"checkpoint", tiles});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["root"], cp["root"]);
  r = ktctl("alice", {"proof", "inclusion", "--index=1", tiles});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  RunResult first = ktctl("alice", {"entries", "--begin=0", "--end=1"});
  std::string size1_root = Json(first)[0]["leaf_hash"];  // a 1-leaf tree
  r = ktctl("alice", {"proof", "consistency", "--from=1",
                      "--from_root=" + size1_root, tiles});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  RunResult from_tiles =
      ktctl("alice", {"entries", "--begin=0", "--end=10", tiles});
  ASSERT_EQ(from_tiles.exit_code, 0) << from_tiles.out;
  r = ktctl("alice", {"entries", "--begin=0", "--end=10"});
  EXPECT_EQ(Json(from_tiles), Json(r));
  r = ktctl("alice", {"entries", "--begin=0", "--end=10"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)[1]["version"], 2);
  EXPECT_EQ(Json(r)[0]["position"], Json(r)[1]["position"]);
  EXPECT_EQ(r.out.find("alice"), std::string::npos) << "leaves name nobody";
  r = ktctl("alice", {"lookup", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["devices"].size(), 2u);
  EXPECT_EQ(Json(r)["version"], 2);
  r = ktctl("alice", {"lookup", "nobody@example.com"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("absence verified"), std::string::npos) << r.out;
  r = ktctl("alice", {"history", "alice@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r).size(), 2u);
  // fsck refuses a data dir in use.
  RunResult busy = RunProgram({kAdmin, "fsck", "--data_dir=" + data});
  EXPECT_EQ(busy.exit_code, 1) << busy.out;
  EXPECT_NE(busy.out.find("in use"), std::string::npos) << busy.out;

  // Usage errors and failures have documented exit codes.
  EXPECT_EQ(ktctl("alice", {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(ktctl("alice", {"device", "remove", "watch"}).exit_code, 1);
  EXPECT_EQ(ktctl("nobody", {"register"}).exit_code, 1) << "no state";
  RunResult unreachable =
      RunProgram({kKtctl, "--state=" + k.dir + "/alice", "--server=127.0.0.1:1",
                  "--timeout=2s", "checkpoint"});
  EXPECT_EQ(unreachable.exit_code, 4) << unreachable.out;
  EXPECT_NE(unreachable.out.find("cannot reach the log"), std::string::npos)
      << unreachable.out;

  // Online backup on SIGUSR1: a complete data dir of the tree as it was.
  s->process()->Signal(SIGUSR1);
  auto written = s->process()->WaitForLine("backup written to ",
                                           absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(written.ok()) << written.status();
  std::string backup = written->substr(written->find(" to ") + 4);
  EXPECT_TRUE(absl::StartsWith(backup, backups + "/backup-")) << backup;
  EXPECT_TRUE(absl::EndsWith(backup, "-size-2")) << backup;

  // Graceful shutdown, restart: same tree, trust carries on.
  EXPECT_EQ(s->Stop(), 0);
  s = ServerProcess::Start({"--data_dir=" + data, "--key_file=" + k.key_file});
  r = ktctl("alice", {"device", "remove", "laptop"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["leaf_index"], 2);
  EXPECT_EQ(s->Stop(), 0);
  RunResult fsck = RunProgram(
      {kAdmin, "fsck", "--data_dir=" + data, "--log_key=" + k.log_key});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  EXPECT_NE(fsck.out.find("fsck OK: 3 leaves and records, 1 accounts"),
            std::string::npos)
      << fsck.out;
  // Issue 26, 3: the log key as the server publishes it, with a witness
  // policy, is accepted too (the data dir is bound to the keys).
  std::string witness =
      NoteSigner::Generate("w.example", kNoteTypeCosignatureV1)
          ->verifier_key()
          .ToString();
  RunResult published = RunProgram(
      {kAdmin, "fsck", "--data_dir=" + data,
       "--log_key=" + k.log_key + ",witness=" + witness + ",quorum=1"});
  EXPECT_EQ(published.exit_code, 0) << published.out;
  RunResult garbled =
      RunProgram({kAdmin, "fsck", "--data_dir=" + data, "--log_key=not-a-key"});
  EXPECT_EQ(garbled.exit_code, 2) << garbled.out;
  Keyed stranger = MakeKey();
  EXPECT_EQ(RunProgram({kAdmin, "fsck", "--data_dir=" + data,
                        "--log_key=" + stranger.log_key})
                .exit_code,
            1);

  // The backup serves the tree of size 2 with the same root as then.
  s = ServerProcess::Start(
      {"--data_dir=" + backup, "--key_file=" + k.key_file});
  r = ktctl("carol", {"init", "--account=carol", "--device=d",
                      "--log_key=" + k.log_key, "--allow_no_witnesses"});
  ASSERT_EQ(r.exit_code, 0);
  r = ktctl("carol", {"checkpoint"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Json(r)["size"], 2);
  EXPECT_EQ(Json(r)["root"], cp["root"]);
  // Alice trusted size 3: the restored log is a rollback to her once it
  // signs a checkpoint (its first heartbeat, within 1 s); before, its old
  // checkpoint is only behind hers, as a read replica's may be.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    r = ktctl("alice", {"checkpoint"});
    if (r.exit_code == 3) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("rollback"), std::string::npos) << r.out;
  EXPECT_EQ(s->Stop(), 0);
}

// Who may create an account (issue 12): with --registration_key, an
// account's first record needs the credential for its id and its account
// key (issue 27, 8); a missing one is UNAUTHENTICATED, a wrong one
// PERMISSION_DENIED, and neither changes the log. Later records need none.
// The credential never goes on a command line: ktctl reads it from a file
// or standard input.
TEST(RegistrationTest, OnlyACredentialCreatesAnAccount) {
  Keyed k = MakeKey();
  std::string reg = k.dir + "/registration.key";
  RunResult made = RunProgram({kKeygen, "--type=registration", "--out=" + reg});
  ASSERT_EQ(made.exit_code, 0) << made.out;
  auto credential = [&](const std::string& account, const std::string& key,
                        const std::string& valid_for = "1h") {
    RunResult r = RunProgram({kAdmin, "credential", "--registration_key=" + reg,
                              "--account=" + account, "--account_key=" + key,
                              "--valid_for=" + valid_for});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return Trim(r.out);
  };
  auto in_file = [&](const std::string& name, const std::string& text) {
    std::string path = k.dir + "/" + name;
    EXPECT_TRUE(WriteFileAtomically(path, text + "\n", 0600).ok());
    return path;
  };
  auto s = ServerProcess::Start({"--data_dir=" + k.dir + "/data",
                                 "--key_file=" + k.key_file,
                                 "--registration_key=" + reg});
  // Through the API: the status codes, and nothing appended.
  auto client = LogClient::Create(s->address());
  TestAccount squatter("alice@example.com");
  DeviceRecord first = squatter.Add("phone", /*advance=*/false);
  std::string squatter_key = HexEncode(squatter.key().public_key().bytes());
  absl::Status missing =
      client->Write(first.operation, first.Encode(), false).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated) << missing;
  absl::Status wrong =
      client
          ->Write(first.operation, first.Encode(), false,
                  credential("mallory@example.com", squatter_key))
          .status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied) << wrong;
  absl::Status garbage =
      client
          ->Write(first.operation, first.Encode(), false, std::string(89, 'a'))
          .status();
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInvalidArgument) << garbage;
  auto note = client->GetCheckpoint(0);
  ASSERT_TRUE(note.ok());
  EXPECT_NE(note->find("\n0\n"), std::string::npos) << "nothing appended";

  // Through ktctl, as a user registers.
  auto ktctl = [&](std::vector<std::string> args) {
    return Ktctl(k.dir + "/alice", s->address(), args);
  };
  RunResult init =
      ktctl({"init", "--account=alice@example.com", "--device=phone",
             "--log_key=" + k.log_key, "--allow_no_witnesses"});
  ASSERT_EQ(init.exit_code, 0) << init.out;
  std::string alice_key = Json(init)["account_key"];
  RunResult r = ktctl({"register"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("registration credential"), std::string::npos) << r.out;
  // Someone who saw Alice's credential cannot use it with a key of theirs.
  std::string alices = credential("alice@example.com", alice_key);
  absl::Status stolen =
      client->Write(first.operation, first.Encode(), false, alices).status();
  EXPECT_EQ(stolen.code(), absl::StatusCode::kPermissionDenied) << stolen;
  // On the command line, the credential is refused outright (exit 2).
  r = ktctl({"register", "--credential=" + alices});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--credential_file"), std::string::npos) << r.out;
  r = ktctl({"register", "--credential_file=" +
                             in_file("bob.cred", credential("bob@example.com",
                                                            alice_key))});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("not valid for this account id and account key"),
            std::string::npos)
      << r.out;
  // Alice's own credential, piped in (expiry is tested in
  // core/account/registration_test.cc).
  RunResult piped = RunProgram(
      {kKtctlBinary, "--state=" + k.dir + "/alice", "--server=" + s->address(),
       "--plaintext", "--json", "register", "--credential_file=-"},
      alices + "\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.out;
  EXPECT_EQ(Json(piped)["leaf_index"], 0)
      << "the refused attempts left no trace";
  r = ktctl({"device", "add", "laptop"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // A key file others can read is refused at start.
  EXPECT_EQ(s->Stop(), 0);
  chmod(reg.c_str(), 0640);
  RunResult refused =
      RunProgram({kServer, "--plaintext", "--data_dir=" + k.dir + "/data",
                  "--key_file=" + k.key_file, "--listen=127.0.0.1:0",
                  "--registration_key=" + reg});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("mode is 0640"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("chmod 600 " + reg), std::string::npos)
      << refused.out;
}

// Rate limits per address (issue 12): a burst, then RESOURCE_EXHAUSTED with
// a retry hint; a refused write is not appended; other RPCs are not
// limited.
TEST(RateLimitTest, LookupsAndWritesPerAddress) {
  Keyed k = MakeKey();
  auto s = ServerProcess::Start({"--data_dir=" + k.dir + "/data",
                                 "--key_file=" + k.key_file,
                                 "--lookups_per_minute=1", "--lookup_burst=3",
                                 "--writes_per_minute=1", "--write_burst=2"});
  auto client = LogClient::Create(s->address());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->LookupAccountAtLatest("nobody@example.com", true).ok())
        << i;
  }
  absl::Status limited =
      client->GetAccountHistoryAtLatest("nobody@example.com", 1, {}).status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted) << limited;
  EXPECT_NE(limited.message().find("retry in "), std::string::npos) << limited;
  TestAccount a("a@example.com");
  for (int i = 0; i < 2; ++i) {
    DeviceRecord r = a.Add(absl::StrCat("d", i));
    ASSERT_TRUE(client->Write(r.operation, r.Encode(), true).ok()) << i;
  }
  DeviceRecord third = a.Add("d2", /*advance=*/false);
  absl::Status refused =
      client->Write(third.operation, third.Encode(), false).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  // Public log reads are not limited (they are cacheable: docs/tiles.md).
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client->GetCheckpoint(0).ok());
  auto entries = client->GetEntries(0, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(entries->size(), 2u) << "the refused write was not appended";
  EXPECT_EQ(s->Stop(), 0);
  // Clients wait as long as the server says (grpc-retry-pushback-ms) when
  // their timeout allows: past the burst, lookups just take longer.
  s = ServerProcess::Start({"--data_dir=" + k.dir + "/data",
                            "--key_file=" + k.key_file,
                            "--lookups_per_minute=600", "--lookup_burst=2"});
  client = LogClient::Create(s->address());
  for (int i = 0; i < 6; ++i) {
    auto answer = client->LookupAccountAtLatest("nobody@example.com", true);
    EXPECT_TRUE(answer.ok()) << i << ": " << answer.status();
  }
  EXPECT_EQ(s->Stop(), 0);
  RunResult bad =
      RunProgram({kServer, "--plaintext", "--data_dir=" + k.dir + "/data",
                  "--key_file=" + k.key_file, "--lookup_burst=0"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
}

// TLS end to end (issue 12): the server on a certificate, ktctl, the
// auditor and the tiles client checking it against a CA file; a client
// that trusts another CA, or speaks plaintext, gets nowhere.
TEST(TlsTest, TheShippedClientsSpeakTlsWithACaFile) {
  Keyed k = MakeKey();
  const std::string tls = "tests/testdata/tls/";
  const std::string ca = "--ca_file=" + tls + "ca.pem";
  const std::string other_ca = "--ca_file=" + tls + "other-ca.pem";
  auto s = ServerProcess::Start(
      {"--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file,
       "--tls_cert=" + tls + "server.pem",
       "--tls_key=" + OwnersCopy(tls + "server.key", k.dir),
       "--http_listen=127.0.0.1:0"});
  ASSERT_TRUE(absl::StartsWith(s->tiles_url(), "https://")) << s->tiles_url();
  auto ktctl = [&](std::vector<std::string> args) {
    return Ktctl(k.dir + "/alice", s->address(), args);
  };
  ASSERT_EQ(ktctl({"init", "--account=alice@example.com", "--device=phone",
                   "--log_key=" + k.log_key, "--allow_no_witnesses", ca})
                .exit_code,
            0);
  RunResult r = ktctl({"register", ca});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = ktctl({"lookup", "alice@example.com", ca});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = ktctl({"checkpoint", ca, "--tiles=" + s->tiles_url()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = ktctl(
      {"entries", "--begin=0", "--end=1", ca, "--tiles=" + s->tiles_url()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Another CA: the certificate is not trusted, and ktctl says what to do
  // (exit 1), with none of gRPC's own log lines.
  r = ktctl({"checkpoint", other_ca, "--timeout=3s"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("is not trusted: pass --ca_file"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("SSL_ERROR"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("handshaker"), std::string::npos) << r.out;
  r = ktctl({"entries", "--begin=0", "--end=1", other_ca,
             "--tiles=" + s->tiles_url()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  // Plaintext to a TLS server.
  r = ktctl({"checkpoint", "--timeout=3s"});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  // A CA file that is not one.
  r = ktctl({"checkpoint", "--ca_file=" + k.key_file});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("holds no PEM CERTIFICATE"), std::string::npos) << r.out;
  // ... which commands that only read the client's state never look at.
  r = ktctl({"alerts", "--ca_file=" + k.key_file});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = ktctl({"code", "public", "--ca_file=" + k.key_file});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // The auditor over TLS, from gRPC and from the HTTPS tiles.
  RunResult w = RunProgram({kKeygen, "--name=w.example", "--type=witness",
                            "--out=" + k.dir + "/w.key"});
  ASSERT_EQ(w.exit_code, 0);
  RunResult audit =
      RunProgram({"auditor/ktlog-auditor", "--log=" + s->address(),
                  "--tiles=" + s->tiles_url(), "--log_key=" + k.log_key,
                  "--key_file=" + k.dir + "/w.key",
                  "--state_dir=" + k.dir + "/auditor", ca});
  EXPECT_EQ(audit.exit_code, 5) << "verified; the log does not know this "
                                   "witness, so it refuses the cosignature: "
                                << audit.out;
  EXPECT_NE(audit.out.find("ktlog-auditor: progress saved at 1 leaves"),
            std::string::npos)
      << audit.out;
  EXPECT_EQ(s->Stop(), 0);
  // The server needs TLS files or an explicit --plaintext.
  RunResult neither = RunProgram(
      {kServer, "--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file});
  EXPECT_EQ(neither.exit_code, 2) << neither.out;
  EXPECT_NE(neither.out.find("--plaintext"), std::string::npos) << neither.out;
  RunResult missing = RunProgram(
      {kServer, "--data_dir=" + k.dir + "/fresh", "--key_file=" + k.key_file,
       "--listen=127.0.0.1:0", "--tls_cert=" + k.dir + "/nope.pem",
       "--tls_key=" + tls + "server.key"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_NE(missing.out.find("nope.pem"), std::string::npos) << missing.out;
  // Issue 26, 8: checked before the data dir is made.
  EXPECT_NE(access((k.dir + "/fresh").c_str(), F_OK), 0);
  // Issue 20, 6: a certificate every client would refuse stops the start,
  // with the date; a good one is announced with its expiry.
  std::string key_copy = OwnersCopy(tls + "server.key", k.dir);
  for (auto [pem, says] :
       {std::pair<std::string, std::string>{"expired.pem",
                                            "expired on 2020-01-02 00:00:00 "
                                            "UTC"},
        {"not-yet-valid.pem", "is not valid before 2100-01-01 00:00:00 UTC"}}) {
    RunResult refused =
        RunProgram({kServer, "--data_dir=" + k.dir + "/data",
                    "--key_file=" + k.key_file, "--listen=127.0.0.1:0",
                    "--tls_cert=" + tls + pem, "--tls_key=" + key_copy});
    EXPECT_EQ(refused.exit_code, 1) << refused.out;
    EXPECT_NE(refused.out.find(says), std::string::npos) << refused.out;
  }
  auto valid = ServerProcess::Start(
      {"--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file,
       "--tls_cert=" + tls + "server.pem", "--tls_key=" + key_copy});
  EXPECT_EQ(valid->Stop(), 0);
}

// Regression (issue 8.9): the load generator can print what was
// acknowledged, for a check from outside; every line is in the log.
TEST(LoadgenTest, AcknowledgedWritesCanBeCheckedFromOutside) {
  Keyed k = MakeKey();
  auto server = ServerProcess::Start(
      {"--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file});
  std::string acked = k.dir + "/acked.jsonl";
  RunResult r = RunProgram(
      {"tools/ktlog-loadgen", "--plaintext", "--server=" + server->address(),
       "--log_key=" + k.log_key, "--writers=2", "--write_for=300ms",
       "--readers=0", "--acked_out=" + acked});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(acked);
  std::string line;
  auto client = LogClient::Create(server->address());
  auto note = client->GetCheckpoint(0);
  ASSERT_TRUE(note.ok());
  auto key = LogPublicKey::Parse(k.log_key);
  auto cp = OpenLogCheckpoint(*note, key->checkpoint_key);
  ASSERT_TRUE(cp.ok());
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    auto hash = Hash::FromHex(j["leaf_hash"].get<std::string>());
    ASSERT_TRUE(hash.ok()) << line;
    auto proof = client->GetInclusionProofByHash(*hash, cp->size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->leaf_index, j["leaf_index"].get<uint64_t>());
    ++lines;
  }
  EXPECT_GT(lines, 0);
  EXPECT_EQ(static_cast<uint64_t>(lines), cp->size);
}

// Issue 20, 7: the load generator runs against a log set up as
// docs/security.md recommends: TLS, registration (it issues each account's
// credential as the sign-up service would), rate limits; one write per call
// and calls of 20.
TEST(LoadgenTest, RunsAgainstATlsLogThatRequiresRegistration) {
  Keyed k = MakeKey();
  std::string reg = k.dir + "/registration.key";
  ASSERT_EQ(
      RunProgram({kKeygen, "--type=registration", "--out=" + reg}).exit_code,
      0);
  const std::string tls = "tests/testdata/tls/";
  auto server = ServerProcess::Start(
      {"--data_dir=" + k.dir + "/data", "--key_file=" + k.key_file,
       "--registration_key=" + reg, "--tls_cert=" + tls + "server.pem",
       "--tls_key=" + OwnersCopy(tls + "server.key", k.dir),
       "--writes_per_minute=100000", "--write_burst=1000"});
  for (const char* batch : {"--batch=1", "--batch=20"}) {
    RunResult r =
        RunProgram({"tools/ktlog-loadgen", "--ca_file=" + tls + "ca.pem",
                    "--server=" + server->address(), "--log_key=" + k.log_key,
                    "--registration_key=" + reg, "--writers=2", "--writes=120",
                    batch, "--readers=1", "--read_for=200ms",
                    absl::StrCat("--prefix=", batch + 2)});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << r.out;
  }
  // Without the key, every first record is refused (UNAUTHENTICATED).
  RunResult refused =
      RunProgram({"tools/ktlog-loadgen", "--ca_file=" + tls + "ca.pem",
                  "--server=" + server->address(), "--log_key=" + k.log_key,
                  "--writers=1", "--writes=3", "--readers=0"});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("UNAUTHENTICATED"), std::string::npos)
      << refused.out;
}

}  // namespace
}  // namespace ktlog
