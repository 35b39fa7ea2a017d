// ktlog-auditor: replays a ktlog log, recomputes every root and the account
// index, and cosigns what it verified. See docs/witness.md.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "auditor/auditor.h"
#include "auditor/witness_http.h"
#include "core/note/key_file.h"
#include "core/util/flags.h"
#include "core/util/logging.h"
#include "proto/tls.h"

namespace {

constexpr int kExitOk = 0, kExitMisbehaviour = 1, kExitUsage = 2,
              kExitUnreachable = 4, kExitRefused = 5;

int Fail(const std::string& msg, int code) {
  if (ktlog::CurrentLogFormat() == ktlog::LogFormat::kJson) {
    ktlog::LogLine(ktlog::Severity::kError, msg);
  } else {
    fprintf(stderr, "ktlog-auditor: %s\n", msg.c_str());
  }
  return code;
}

// One line the auditor prints for a person or a log file (--follow runs
// for days): "<UTC time> ktlog-auditor: <message>", or with
// --log_format=json one JSON object (core/util/logging.h).
void Say(std::ostream& out, absl::string_view message,
         ktlog::Severity severity = ktlog::Severity::kInfo) {
  if (ktlog::CurrentLogFormat() == ktlog::LogFormat::kJson) {
    out << ktlog::FormatLogLine(severity, message, absl::Now());
  } else {
    out << absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                            absl::UTCTimeZone())
        << " ktlog-auditor: " << message << "\n";
  }
  out << std::flush;
}

// A progress bar on a terminal; elsewhere (a log file) a line every 5 s
// while a long catch-up goes on, and a last one only after those.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO)) {}
  void Update(uint64_t done, uint64_t target) {
    absl::Time now = absl::Now();
    if (start_ == absl::InfinitePast()) {
      start_ = now;
      first_ = done;
    }
    bool last = done >= target;
    if (!tty_ && last && !printed_any_) return;  // quick: no progress to tell
    if (!tty_ && now - start_ < absl::Seconds(5)) return;
    if (!tty_ && !last && now - printed_ < absl::Seconds(5)) return;
    if (tty_ && !last && now - printed_ < absl::Milliseconds(200)) return;
    printed_ = now;
    printed_any_ = !last;
    double secs = std::max(1e-3, absl::ToDoubleSeconds(now - start_));
    double rate = (done - first_) / secs;
    int width = 30;
    int filled = target == 0 ? width : static_cast<int>(width * done / target);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::string line =
        absl::StrFormat("%s%llu/%llu leaves (%.0f%%), %.0f leaves/s",
                        tty_ ? absl::StrCat("[", bar, "] ") : "",
                        static_cast<unsigned long long>(done),
                        static_cast<unsigned long long>(target),
                        target == 0 ? 100.0 : 100.0 * done / target, rate);
    if (rate > 0 && !last) {
      absl::StrAppendFormat(&line, ", %.0f s left", (target - done) / rate);
    }
    if (tty_) {
      fprintf(stderr, "\r%s%s", line.c_str(), last ? "\n" : "");
    } else {
      Say(std::cerr, line);
    }
  }
  void Reset() {
    start_ = absl::InfinitePast();
    printed_any_ = false;
  }

 private:
  const bool tty_;
  absl::Time start_ = absl::InfinitePast();
  absl::Time printed_ = absl::InfinitePast();
  uint64_t first_ = 0;
  bool printed_any_ = false;
};

// What the command line configures.
struct Config {
  std::string log = "127.0.0.1:8020", log_key, key_file, state_dir, tiles;
  std::string listen, tls_cert, tls_key, log_format = "text";
  bool follow = false, clear_failure = false;
  uint64_t page = 1000, commit_every = 50000;
  absl::Duration interval = absl::Seconds(10);
  ktlog::ClientTls tls;
};

constexpr char kUsage[] =
    "usage: ktlog-auditor --log=HOST:PORT --log_key=VKEY --key_file=FILE\n"
    "                     --state_dir=DIR [--follow [--interval=10s]]\n"
    "                     [--listen=HOST:PORT --tls_cert=PEM --tls_key=PEM]\n\n"
    "Verifies the checkpoint the log asks witnesses to cosign: its\n"
    "signature, its consistency with the last one verified, and every\n"
    "public leaf since (encoding; per account position, versions 1, 2, 3,\n"
    "...; timestamps never going back), replayed into its own tree and\n"
    "account index whose roots must match the checkpoint. It sees no\n"
    "account id, device or key: what records say is for owners to check.\n"
    "Then cosigns it with the witness key in FILE (ktlog-keygen\n"
    "--type=witness) and submits the cosignature to the log. On any\n"
    "misbehaviour it stops cosigning for good and writes the evidence to\n"
    "DIR/evidence-*.json.\n\n"
    "With --listen it also serves C2SP tlog-witness add-checkpoint (over\n"
    "TLS with --tls_cert/--tls_key): the log pushes each checkpoint, which\n"
    "is verified as a round verifies it and cosigned in the answer, and it\n"
    "runs until stopped (docs/witness.md, \"Pushed to\"), and its\n"
    "metrics at GET /metrics (docs/operations.md, \"Metrics\").\n\n"
    "Exit codes (one round): 0 healthy, 1 misbehaviour found (now or\n"
    "before), 2 usage, 4 log unreachable, 5 the log refused the\n"
    "cosignature (is this witness in its --witness_keys?).";

void AddFlags(ktlog::FlagSet* flags, Config* c) {
  flags->String("log", &c->log, "the log's gRPC address");
  flags->String("tiles", &c->tiles,
                "read the log's leaves and proofs from its C2SP tiles at this "
                "http[s]:// URL (the log's --http_listen, or a cache or CDN in "
                "front of it) instead of gRPC");
  flags->Bool("http_tiles", &c->tls.http_tiles,
              "accept an http:// --tiles URL while the log itself uses TLS "
              "(what they give is checked against the signed checkpoint, and "
              "judged again on the log's own answers before it is evidence)");
  flags->String("log_key", &c->log_key,
                "the log key (\"<verifier key>,vrf=<VRF key>\")");
  flags->String("key_file", &c->key_file, "this witness's signing key");
  flags->String("state_dir", &c->state_dir,
                "where the auditor keeps its state");
  flags->Bool("follow", &c->follow, "keep auditing");
  flags->Duration("interval", &c->interval,
                  "time between rounds with --follow");
  flags->Uint64("page", &c->page, "leaves fetched per request (1..1000)");
  flags->Uint64("commit_every", &c->commit_every,
                "leaves between saves of progress while catching up");
  flags->String("listen", &c->listen,
                "serve C2SP tlog-witness add-checkpoint on host:port for the "
                "log to push checkpoints to");
  flags->String("tls_cert", &c->tls_cert,
                "PEM certificate chain for --listen (HTTPS)");
  flags->String("tls_key", &c->tls_key, "PEM private key for --listen");
  flags->String("log_format", &c->log_format,
                "text, or json: one JSON object per line (docs/operations.md)");
  flags->Bool("clear_failure", &c->clear_failure,
              "forget a recorded failure (after investigating it)");
  c->tls.AddFlags(flags);
}

// The add-checkpoint endpoint of --listen (over TLS unless --plaintext).
absl::StatusOr<std::unique_ptr<ktlog::WitnessHttpServer>> StartEndpoint(
    const Config& c, ktlog::Auditor* auditor, absl::Mutex* mu,
    const ktlog::MetricsRegistry* metrics) {
  std::optional<ktlog::TlsFiles> tls;
  if (!c.tls_cert.empty() || !c.tls_key.empty()) {
    tls = ktlog::TlsFiles{c.tls_cert, c.tls_key};
  } else if (!c.tls.plaintext) {
    return absl::InvalidArgumentError(
        "--listen needs --tls_cert and --tls_key (or --plaintext, for local "
        "development)");
  }
  auto started =
      ktlog::WitnessHttpServer::Start(auditor, mu, c.listen, tls, metrics);
  if (started.ok()) {
    Say(std::cout, absl::StrCat("add-checkpoint at ", (*started)->url(),
                                "/add-checkpoint"));
  }
  return started;
}

// One round, reported; returns its exit code.
int Round(ktlog::Auditor* auditor) {
  absl::StatusOr<ktlog::Auditor::Round> round = auditor->RunOnce();
  if (round.ok()) {
    Say(std::cout,
        absl::StrCat("checkpoint of size ", round->size, " verified (",
                     round->leaves_checked, " new leaves checked)",
                     round->cosigned ? ", cosigned" : ", nothing new"));
    return kExitOk;
  }
  const absl::Status& s = round.status();
  if (absl::IsDataLoss(s) || absl::IsFailedPrecondition(s)) {
    Say(std::cout, absl::StrCat("NOT cosigning: ", s.message()),
        ktlog::Severity::kError);
    if (!auditor->evidence_path().empty()) {
      Say(std::cout,
          absl::StrCat("evidence written to ", auditor->evidence_path()),
          ktlog::Severity::kError);
    }
    return kExitMisbehaviour;
  }
  Say(std::cout, s.message(), ktlog::Severity::kWarning);
  if (absl::IsPermissionDenied(s)) return kExitRefused;
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    return kExitUnreachable;
  }
  return kExitMisbehaviour;
}

// Checks the command line, and sets the log format it asks for.
absl::Status CheckUsage(const Config& c, const std::vector<std::string>& args) {
  absl::StatusOr<ktlog::LogFormat> format = ktlog::ParseLogFormat(c.log_format);
  if (!format.ok()) return format.status();
  ktlog::SetLogFormat(*format, "ktlog-auditor");
  if (!args.empty()) {
    return absl::InvalidArgumentError("unexpected argument " + args[0]);
  }
  if (c.log_key.empty() || c.key_file.empty() || c.state_dir.empty()) {
    return absl::InvalidArgumentError(
        "--log_key, --key_file and --state_dir are required");
  }
  if (c.page == 0 || c.page > 1000 || c.commit_every == 0) {
    return absl::InvalidArgumentError(
        "--page must be 1..1000 and --commit_every at least 1");
  }
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Config c;
  ktlog::FlagSet flags(kUsage);
  AddFlags(&flags, &c);
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-auditor", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (absl::Status usage = CheckUsage(c, args); !usage.ok()) {
    return Fail(std::string(usage.message()), kExitUsage);
  }
  auto log_key = ktlog::LogPublicKey::Parse(c.log_key);
  if (!log_key.ok()) {
    return Fail(absl::StrCat("--log_key is not a log key: ",
                             log_key.status().message()),
                kExitUsage);
  }
  auto keys = ktlog::LoadKeyFile(c.key_file);
  if (!keys.ok()) return Fail(std::string(keys.status().message()), 1);
  if (keys->vrf.has_value()) {
    return Fail(absl::StrCat(c.key_file,
                             " is a log's key file; an auditor signs with a "
                             "witness key (ktlog-keygen --type=witness)"),
                kExitUsage);
  }

  auto credentials = ktlog::GrpcChannelCredentials(c.tls, "ktlog-auditor");
  if (!credentials.ok())
    return Fail(std::string(credentials.status().message()), 1);
  auto client =
      ktlog::LogClient::Create(c.log, absl::Seconds(60), *credentials);
  std::unique_ptr<ktlog::TilesClient> tiles;
  std::unique_ptr<ktlog::LogFeed> feed;
  ktlog::GrpcFeed grpc_feed(client.get());
  if (c.tiles.empty()) {
    feed = std::make_unique<ktlog::GrpcFeed>(client.get());
  } else {
    auto t = ktlog::TilesClient::Create(c.tiles, absl::Seconds(60), &c.tls);
    if (!t.ok()) return Fail(std::string(t.status().message()), kExitUsage);
    tiles = *std::move(t);
    feed = std::make_unique<ktlog::TilesFeed>(tiles.get(), client.get());
  }
  Progress progress;
  ktlog::MetricsRegistry metrics;
  ktlog::AuditorOptions options;
  options.metrics = &metrics;
  options.state_dir = c.state_dir;
  options.log_key = *log_key;
  options.page = c.page;
  options.commit_every = c.commit_every;
  if (tiles != nullptr) options.authority = &grpc_feed;
  options.progress = [&progress](uint64_t done, uint64_t target) {
    progress.Update(done, target);
  };
  // Saved progress, at most a line every 5 s (a pushed checkpoint commits
  // several times a second).
  absl::Time said = absl::InfinitePast();
  options.saved = [&said](uint64_t done) {
    if (absl::Now() < said + absl::Seconds(5)) return;
    said = absl::Now();
    Say(std::cout, absl::StrCat("progress saved at ", done, " leaves"));
  };
  auto auditor =
      ktlog::Auditor::Open(options, std::move(keys->signer), feed.get());
  if (!auditor.ok()) return Fail(std::string(auditor.status().message()), 1);
  if (c.clear_failure) {
    absl::Status s = (*auditor)->ClearFailure();
    if (!s.ok()) return Fail(std::string(s.message()), 1);
    Say(std::cout, "failure cleared");
  }
  // Rounds and pushed checkpoints take turns with the auditor.
  absl::Mutex mu;
  std::unique_ptr<ktlog::WitnessHttpServer> endpoint;
  if (!c.listen.empty()) {
    auto started = StartEndpoint(c, auditor->get(), &mu, &metrics);
    if (!started.ok()) {
      return Fail(std::string(started.status().message()),
                  absl::IsInvalidArgument(started.status()) ? kExitUsage : 1);
    }
    endpoint = *std::move(started);
  }
  for (;;) {
    int code;
    {
      absl::MutexLock lock(&mu);
      progress.Reset();
      code = Round(auditor->get());
    }
    if (!c.follow && endpoint == nullptr) return code;
    absl::SleepFor(endpoint != nullptr && !c.follow ? absl::InfiniteDuration()
                                                    : c.interval);
  }
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
