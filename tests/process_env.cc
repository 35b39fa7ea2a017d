#include "tests/process_env.h"

#include <sys/wait.h>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "tests/test_env.h"

namespace ktlog {

std::string TrimRight(const std::string& s) {
  return std::string(absl::StripTrailingAsciiWhitespace(s));
}

LogKeyFiles MakeLogKey(const std::string& name) {
  LogKeyFiles k;
  k.dir = NewTempDir("ktlog-e2e");
  k.key_file = k.dir + "/log.key";
  RunResult r =
      RunProgram({kKeygenBinary, "--name=" + name, "--out=" + k.key_file});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  k.log_key = TrimRight(r.out);
  return k;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(
    const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {kServerBinary, "--listen=127.0.0.1:0"};
  // Tests load one server from one address: no rate limits unless the test
  // sets them.
  for (const char* limit : {"--lookups_per_minute=", "--writes_per_minute="}) {
    bool set = false;
    for (const std::string& f : flags) set = set || f.rfind(limit, 0) == 0;
    if (!set) argv.push_back(std::string(limit) + "0");
  }
  // Plaintext unless the test gives TLS files.
  bool tls = false;
  for (const std::string& f : flags)
    tls = tls || f.rfind("--tls_cert=", 0) == 0;
  if (!tls) argv.push_back("--plaintext");
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto s = std::make_unique<ServerProcess>();
  auto p = Subprocess::Start(argv, "", /*merge_stderr=*/true);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return s;
  s->process_ = *std::move(p);
  auto line =
      s->process_->WaitForLine("listening on", absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(line.ok()) << line.status();
  if (line.ok()) s->address_ = ListeningAddress(*line);
  auto key =
      s->process_->WaitForLine("log key ", absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(key.ok()) << key.status();
  if (key.ok()) s->log_key_ = TrimRight(key->substr(key->find("log key ") + 8));
  for (const std::string& f : flags) {
    if (f.rfind("--http_listen=", 0) != 0) continue;
    auto tiles =
        s->process_->WaitForLine("tiles at ", absl::Now() + absl::Seconds(30));
    EXPECT_TRUE(tiles.ok()) << tiles.status();
    if (tiles.ok()) s->tiles_url_ = tiles->substr(tiles->find(" at ") + 4);
  }
  return s;
}

ServerProcess::~ServerProcess() {
  if (!stopped_ && process_ != nullptr) Stop();
}

int ServerProcess::Stop(int sig) {
  stopped_ = true;
  process_->Signal(sig);
  int status = process_->Wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

RunResult Ktctl(const std::string& state_dir, const std::string& server,
                const std::vector<std::string>& args,
                const std::string& binary) {
  std::vector<std::string> argv = {binary, "--state=" + state_dir,
                                   "--server=" + server, "--json"};
  bool tls = false;
  for (const std::string& a : args) tls = tls || a.rfind("--ca_file=", 0) == 0;
  if (!tls) argv.push_back("--plaintext");
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv);
}

std::vector<std::string> AlertTypes(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.contains("alerts")) {
    for (const auto& a : j["alerts"]) out.push_back(a["type"]);
  }
  return out;
}

nlohmann::json JsonOf(const RunResult& r) {
  // The JSON value is the last line; ALERT lines may precede it on stderr.
  std::string out = TrimRight(r.out);
  size_t nl = out.rfind('\n');
  std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
  auto j = nlohmann::json::parse(last, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

}  // namespace ktlog
