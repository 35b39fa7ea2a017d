// ktlog-server: the ktlog log server. See docs/operations.md.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <iostream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/note/key_file.h"
#include "core/note/log_key.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/flags.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "log/server.h"

namespace ktlog {
namespace {

constexpr char kUsage[] =
    "usage: ktlog-server --data_dir=DIR --key_file=FILE [flags]\n\n"
    "Runs a ktlog key transparency log: appends signed device records to an\n"
    "RFC 9162 Merkle tree in RocksDB under DIR, signs C2SP checkpoints with\n"
    "the keys in FILE (made by ktlog-keygen) and serves ktlog.v1.Log over\n"
    "gRPC. Prints \"listening on HOST:PORT\" and the log key clients pin\n"
    "once ready; SIGTERM or SIGINT shut it down gracefully; SIGUSR1 writes\n"
    "an online backup to --backup_dir.";

// What the command line configures.
struct Config {
  std::string key_file, origin, backup_dir, witness_keys, registration_key;
  std::string witness_urls;
  std::string tls_cert, tls_key;
  bool plaintext = false;
  uint64_t batch_size = 512, max_pending = 8192;
  uint64_t witness_quorum = 0;  // 0: a majority of --witness_keys
  // Per peer address (docs/security.md); 0 per minute: unlimited.
  uint64_t lookups_per_minute = 120, lookup_burst = 100;
  uint64_t writes_per_minute = 60, write_burst = 20;
  uint64_t max_calls_per_address = 64;
  std::string log_format = "text";
  // The private feed (the log's), and a read replica's.
  std::string private_feed_token_file;
  std::string replica_of, log_key, feed_url, feed_token_file, replica_ca_file;
  absl::Duration replica_poll = absl::Milliseconds(200);
  LogServerOptions options;
};

// A read replica's flags (docs/scale.md).
void AddReplicaFlags(FlagSet* flags, Config* c) {
  flags->String("replica_of", &c->replica_of,
                "run as a read replica of the log whose tiles are at this "
                "URL (http[s]://host:port[/prefix]: its --http_listen or a "
                "cache in front of it): --key_file is then a replica key "
                "file (ktlog-keygen --replica_key_from) and --log_key the "
                "log's key; docs/scale.md");
  flags->String("log_key", &c->log_key,
                "with --replica_of: the log key the log printed at start");
  flags->String("feed_url", &c->feed_url,
                "with --replica_of: where the log's private feed is "
                "(default: the --replica_of URL)");
  flags->String("feed_token_file", &c->feed_token_file,
                "with --replica_of: the private feed's bearer token");
  flags->String("replica_ca_file", &c->replica_ca_file,
                "with --replica_of: PEM roots for https:// --replica_of and "
                "--feed_url (default: the system's)");
  flags->Duration("replica_poll", &c->replica_poll,
                  "with --replica_of: how often to look for a new checkpoint");
}

void AddFlags(FlagSet* flags, Config* c) {
  LogServerOptions& o = c->options;
  flags->String("data_dir", &o.data_dir,
                "RocksDB data directory (created if missing)");
  flags->String("key_file", &c->key_file, "the log's signing key file");
  flags->String("origin", &c->origin,
                "the log's origin; must equal the key's name (the default)");
  flags->String("listen", &o.listen_address,
                "host:port to serve on (port 0: any free port)");
  flags->Uint64("batch_size", &c->batch_size,
                "most records per batch (group commit)");
  flags->Duration("batch_delay", &o.sequencer.batch_delay,
                  "how long a batch waits to fill after its first record");
  flags->Duration("checkpoint_pace", &o.sequencer.checkpoint_pace,
                  "sign at most one checkpoint per this long under writes "
                  "(0: one per batch)");
  flags->Duration("checkpoint_interval", &o.sequencer.checkpoint_interval,
                  "sign a heartbeat checkpoint after this long without writes");
  flags->Uint64("max_pending", &c->max_pending,
                "most queued writes before RESOURCE_EXHAUSTED");
  flags->Duration(
      "max_record_skew", &o.service.max_record_skew,
      "reject records whose timestamp is further than this from now");
  flags->String("witness_keys", &c->witness_keys,
                "comma-separated verifier keys (type 0x04) of the witnesses "
                "whose cosignatures the log accepts");
  flags->Duration("lookup_window", &o.lookup_window,
                  "answer lookups at the checkpoints of this last stretch "
                  "of time (index versions are kept in memory that long)");
  flags->String("witness_urls", &c->witness_urls,
                "push each checkpoint to these witnesses' C2SP tlog-witness "
                "endpoints: NAME=URL,... (NAME as in --witness_keys, URL "
                "http[s]://host:port[/prefix]; docs/witness.md)");
  flags->String("witness_ca_file", &o.pusher.ca_file,
                "PEM roots for https:// --witness_urls (default: the "
                "system's)");
  flags->Uint64("witness_quorum", &c->witness_quorum,
                "how many of --witness_keys the log key asks clients to "
                "require (published in the log key; default: a majority)");
  flags->Duration("witness_timeout", &o.cosignatures.witness_timeout,
                  "hand witnesses the latest checkpoint to cosign once all of "
                  "them cosigned the one before, or after this long");
  flags->String("http_listen", &o.http_listen_address,
                "also serve the public log as C2SP tlog-tiles over HTTP on "
                "host:port (docs/tiles.md), and the server's metrics at "
                "/metrics (docs/operations.md)");
  flags->String("tiles_dir", &o.tiles_dir,
                "also write the public log as C2SP tlog-tiles to this "
                "directory, for any web server or CDN to serve");
  flags->String("tls_cert", &c->tls_cert,
                "PEM certificate chain for TLS on --listen and --http_listen");
  flags->String("tls_key", &c->tls_key, "PEM private key of --tls_cert");
  flags->Bool("plaintext", &c->plaintext,
              "serve without TLS (local development and tests only)");
  flags->String("registration_key", &c->registration_key,
                "require, on each account's first record, the credential "
                "this registration key issues for its id (ktlog-keygen "
                "--type=registration; docs/security.md). Without it anyone "
                "may create any account id");
  flags->Uint64("max_calls_per_address", &c->max_calls_per_address,
                "RPCs one address may have in flight at once, answers its "
                "client has not read yet included (0: unlimited)");
  flags->Uint64("lookups_per_minute", &c->lookups_per_minute,
                "lookups (LookupAccount, each account of LookupAccounts, "
                "GetAccountHistory, GetBackup) one address may make per "
                "minute, after a burst (0: unlimited)");
  flags->Uint64("lookup_burst", &c->lookup_burst,
                "lookups one address may make at once");
  flags->Uint64("writes_per_minute", &c->writes_per_minute,
                "writes (each record, PutBackup, DeleteBackup) one address may "
                "make per minute, after a burst (0: unlimited)");
  flags->Uint64("write_burst", &c->write_burst,
                "writes one address may make at once");
  flags->String("backup_dir", &c->backup_dir,
                "where SIGUSR1 writes an online backup (a new subdirectory)");
  flags->String("private_feed_dir", &o.private_feed_dir,
                "also write the private feed as files under this directory "
                "(beside --tiles_dir), for an access-controlled web server or "
                "object store (docs/scale.md)");
  flags->String("private_feed_token_file", &c->private_feed_token_file,
                "serve the private feed that read replicas replay "
                "(GET /private/... on --http_listen) to whoever presents the "
                "bearer token in this file (at least 16 bytes; "
                "docs/scale.md)");
  AddReplicaFlags(flags, c);
  flags->String("log_format", &c->log_format,
                "text, or json: one JSON object per line on stderr, for a "
                "log collector (docs/operations.md, \"Logs\")");
}

absl::Status FinishReplica(Config* c);

// Whether an http[s]:// URL names this machine: localhost, [::1] or an
// IPv4 address in 127.0.0.0/8.
bool IsLoopbackUrl(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "http://")) {
    absl::ConsumePrefix(&url, "https://");
  }
  if (absl::StartsWith(url, "[::1]")) return true;
  absl::string_view host = url.substr(0, url.find_first_of(":/"));
  if (host == "localhost") return true;
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (absl::string_view part : parts) {
    int octet = 0;
    if (!absl::SimpleAtoi(part, &octet) || octet < 0 || octet > 255) {
      return false;
    }
  }
  return true;
}

// Checks the flags and completes the options; a usage error otherwise.
absl::Status Finish(Config* c) {
  LogServerOptions& o = c->options;
  if (o.data_dir.empty())
    return absl::InvalidArgumentError("--data_dir is required");
  if (c->key_file.empty()) {
    return absl::InvalidArgumentError("--key_file is required");
  }
  if (c->tls_cert.empty() != c->tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (c->tls_cert.empty() == !c->plaintext) {
    return absl::InvalidArgumentError(
        c->plaintext ? "--plaintext and --tls_cert/--tls_key exclude each other"
                     : "give --tls_cert and --tls_key (TLS), or --plaintext "
                       "for local development");
  }
  if (!c->tls_cert.empty()) o.tls = TlsFiles{c->tls_cert, c->tls_key};
  if (c->batch_size == 0 || c->batch_size > 100000) {
    return absl::InvalidArgumentError(
        "--batch_size must be between 1 and 100000");
  }
  if (c->max_pending == 0) {
    return absl::InvalidArgumentError("--max_pending must be at least 1");
  }
  if (o.sequencer.checkpoint_interval < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError(
        "--checkpoint_interval must be at least 10ms");
  }
  if (o.sequencer.checkpoint_pace < absl::ZeroDuration() ||
      o.sequencer.checkpoint_pace > absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "--checkpoint_pace must be between 0 and 1s (a leaf is covered by a "
        "checkpoint within about the pace)");
  }
  for (absl::string_view k :
       absl::StrSplit(c->witness_keys, ',', absl::SkipEmpty())) {
    absl::StatusOr<NoteVerifierKey> w = NoteVerifierKey::Parse(k);
    if (!w.ok() || w->type != kNoteTypeCosignatureV1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--witness_keys: \"", k,
                       "\" is not a witness verifier key (make one with "
                       "ktlog-keygen --type=witness)"));
    }
    for (const NoteVerifierKey& other : o.cosignatures.witnesses) {
      if (other.key.bytes() == w->key.bytes()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--witness_keys names the key of witness ", other.name,
                         " twice: a witness counts once"));
      }
    }
    o.cosignatures.witnesses.push_back(*std::move(w));
  }
  ASSIGN_OR_RETURN(o.pushed_witnesses,
                   ParseWitnessUrls(c->witness_urls, o.cosignatures.witnesses));
  size_t n = o.cosignatures.witnesses.size();
  if (c->witness_quorum > n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--witness_quorum must be between 1 and the ", n, " --witness_keys"));
  }
  o.service.max_calls_per_address =
      static_cast<int>(std::min<uint64_t>(c->max_calls_per_address, 1 << 20));
  o.witness_quorum = n == 0 ? 0
                     : c->witness_quorum == 0
                         ? MajorityQuorum(n)
                         : static_cast<uint32_t>(c->witness_quorum);
  for (auto [per_minute, burst, limit, name] :
       {std::tuple{c->lookups_per_minute, c->lookup_burst,
                   &o.service.lookup_limit, "lookup"},
        std::tuple{c->writes_per_minute, c->write_burst, &o.service.write_limit,
                   "write"}}) {
    if (per_minute > 1000000 ||
        (per_minute > 0 && (burst == 0 || burst > 1000000))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, "s_per_minute must be at most 1000000 and --", name,
          "_burst between 1 and 1000000"));
    }
    *limit = RateLimit{per_minute / 60.0, static_cast<double>(burst)};
  }
  o.sequencer.max_batch_size = c->batch_size;
  o.sequencer.max_pending = c->max_pending;
  return FinishReplica(c);
}

// The read replica's flags (--replica_of and those that go with it).
absl::Status FinishReplica(Config* c) {
  LogServerOptions& o = c->options;
  if (c->replica_of.empty()) {
    for (const std::string* f :
         {&c->log_key, &c->feed_url, &c->feed_token_file}) {
      if (!f->empty()) {
        return absl::InvalidArgumentError(
            "--log_key, --feed_url and --feed_token_file are for a read "
            "replica (--replica_of)");
      }
    }
    return absl::OkStatus();
  }
  if (c->log_key.empty() || c->feed_token_file.empty()) {
    return absl::InvalidArgumentError(
        "--replica_of needs --log_key (the log key the log printed) and "
        "--feed_token_file (its private feed's token)");
  }
  if (!c->witness_keys.empty() || !c->witness_urls.empty() ||
      !c->registration_key.empty() || !c->private_feed_token_file.empty() ||
      !c->options.private_feed_dir.empty()) {
    return absl::InvalidArgumentError(
        "a read replica takes writes from nobody and talks to no witness: "
        "--witness_keys, --witness_urls, --registration_key and "
        "--private_feed_token_file/dir are the log's (its witness policy comes "
        "from --log_key)");
  }
  if (c->replica_poll < absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("--replica_poll must be at least 10ms");
  }
  o.replica = FollowerOptions{};
  o.replica->log_url = c->replica_of;
  o.replica->feed_url = c->feed_url;
  o.replica->ca_file = c->replica_ca_file;
  o.replica->poll_interval = c->replica_poll;
  // The feed holds every record: only over TLS, but for a log on this
  // machine or local development.
  std::string feed = c->feed_url.empty() ? c->replica_of : c->feed_url;
  if (absl::StartsWith(feed, "http://") && !c->plaintext &&
      !IsLoopbackUrl(feed)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the private feed at ", feed,
        " would travel without TLS, token and records: use https:// (or "
        "--plaintext for local development)"));
  }
  return absl::OkStatus();
}

// The token in `path` (whitespace around it dropped): at least 16 bytes.
absl::StatusOr<std::string> LoadToken(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSecretFile(path, 4096));
  std::string token(absl::StripAsciiWhitespace(text));
  WipeSecret(&text);
  if (token.size() < 16) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " must hold a token of at least 16 bytes (e.g. head -c 32 "
                     "/dev/urandom | base64 > ",
                     path, ")"));
  }
  return token;
}

// A read replica (--replica_of).
absl::StatusOr<std::unique_ptr<LogServer>> StartReplica(Config* c) {
  ASSIGN_OR_RETURN(VrfPrivateKey vrf, LoadReplicaKeyFile(c->key_file));
  absl::StatusOr<LogPublicKey> key = LogPublicKey::Parse(c->log_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_key: ", key.status().message()));
  }
  ASSIGN_OR_RETURN(c->options.replica->feed_token,
                   LoadToken(c->feed_token_file));
  if (c->feed_url.empty() && !IsLoopbackUrl(c->replica_of)) {
    LogWarning(
        "no --feed_url: the private feed's token and records are "
        "read from --replica_of (",
        c->replica_of, "); if that is a cache or CDN, give the log's own URL");
  }
  return LogServer::StartReplica(*std::move(key), std::move(vrf), c->options);
}

// Waits for signals: SIGUSR1 writes a backup; SIGTERM or SIGINT returns.
void ServeUntilStopped(LogServer* server, const std::string& backup_dir,
                       const sigset_t& signals) {
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGUSR1) break;
    if (backup_dir.empty()) {
      LogWarning("SIGUSR1 asks for a backup but --backup_dir is not set");
      continue;
    }
    absl::StatusOr<std::string> dir = server->Backup(backup_dir);
    if (dir.ok()) {
      LogInfo("backup written to ", *dir);
    } else {
      LogError("backup failed: ", dir.status().message());
    }
  }
  LogInfo("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT",
          "; shutting down");
}

int Fail(absl::string_view msg, int code) {
  if (CurrentLogFormat() == LogFormat::kJson) {
    LogError(msg);
  } else {
    std::cerr << "ktlog-server: " << msg << std::endl;
  }
  return code;
}

// Raises the soft limit on open files to the hard one: each connection is a
// descriptor, and the common soft limit of 1,024 is reached by a thousand
// idle connections (docs/operations.md, "Limits").
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur >= limit.rlim_max) {
    return;
  }
  rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    LogWarning("cannot raise the open-file limit from ", before);
  }
}

int Serve(LogServer* server, const Config& c, const sigset_t& signals);

int Main(int argc, char** argv) {
  Config c;
  c.options.listen_address = "127.0.0.1:8020";
  FlagSet flags(kUsage);
  AddFlags(&flags, &c);
  std::vector<std::string> args;
  int exit_code;
  if (!ParseMainFlags(flags, argc, argv, "ktlog-server", &args, &exit_code)) {
    return exit_code;
  }
  absl::StatusOr<LogFormat> format = ParseLogFormat(c.log_format);
  if (!format.ok()) return Fail(format.status().message(), 2);
  SetLogFormat(*format, "ktlog-server");
  if (!args.empty()) return Fail("unexpected argument " + args[0], 2);
  absl::Status usage = Finish(&c);
  if (!usage.ok()) return Fail(usage.message(), 2);
  RaiseFileLimit();
  if (!c.private_feed_token_file.empty()) {
    absl::StatusOr<std::string> token = LoadToken(c.private_feed_token_file);
    if (!token.ok()) return Fail(token.status().message(), 1);
    c.options.private_feed_token = *std::move(token);
  }
  // Handle SIGTERM/SIGINT/SIGUSR1 in this thread only: block them before
  // any other thread starts, then wait for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  if (c.options.replica.has_value()) {
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    absl::StatusOr<std::unique_ptr<LogServer>> server = StartReplica(&c);
    if (!server.ok()) {
      return Fail(server.status().message(),
                  absl::IsInvalidArgument(server.status()) ? 2 : 1);
    }
    return Serve(server->get(), c, signals);
  }
  absl::StatusOr<KeyFile> keys = LoadKeyFile(c.key_file);
  if (!keys.ok()) return Fail(keys.status().message(), 1);
  if (!keys->vrf.has_value()) {
    return Fail(absl::StrCat(c.key_file,
                             " holds no VRF key: a log needs one (make a log "
                             "key file with ktlog-keygen --type=log; a "
                             "witness key cannot run a log)"),
                1);
  }
  if (!c.registration_key.empty()) {
    absl::StatusOr<RegistrationKey> r =
        RegistrationKey::Load(c.registration_key);
    if (!r.ok()) return Fail(r.status().message(), 1);
    c.options.registration = *std::move(r);
  }
  const NoteSigner* signer = &keys->signer;
  if (!c.origin.empty() && c.origin != signer->name()) {
    return Fail(absl::StrCat("--origin \"", c.origin,
                             "\" differs from the signing key's name \"",
                             signer->name(),
                             "\"; a log signs checkpoints with a key named "
                             "after its origin (make one with ktlog-keygen "
                             "--name)"),
                2);
  }
  for (const NoteVerifierKey& w : c.options.cosignatures.witnesses) {
    if (w.key.bytes() == signer->verifier_key().key.bytes()) {
      return Fail(
          "--witness_keys names the log's own key: a witness must be "
          "independent of the log (ktlog-keygen --type=witness)",
          2);
    }
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<std::unique_ptr<LogServer>> server = LogServer::Start(
      std::move(keys->signer), *std::move(keys->vrf), c.options);
  if (!server.ok()) return Fail(server.status().message(), 1);
  return Serve(server->get(), c, signals);
}

// Says where it listens, warns about what is unsafe, serves until a
// signal stops it.
int Serve(LogServer* server, const Config& c, const sigset_t& signals) {
  std::shared_ptr<const PublishedCheckpoint> cp = server->publisher()->Latest();
  std::cout << "ktlog-server: listening on " << server->address() << " origin "
            << server->origin() << " tree size "
            << (cp ? cp->checkpoint.size : 0) << "\n"
            << "ktlog-server: log key " << server->log_key().ToString() << "\n";
  if (!server->tiles_url().empty()) {
    std::cout << "ktlog-server: tiles at " << server->tiles_url() << "\n";
  }
  if (c.options.replica.has_value()) {
    std::cout << "ktlog-server: read replica of " << c.replica_of << "\n";
  }
  std::cout << std::flush;
  LogInfo("serving ", server->origin(), " on ", server->address(), " from ",
          c.options.data_dir,
          c.options.replica.has_value() ? " as a read replica" : "");
  if (!c.options.tls.has_value()) {
    LogWarning(
        "--plaintext: clients' traffic is neither encrypted nor "
        "authenticated; use --tls_cert/--tls_key outside development");
  }
  if (!c.options.private_feed_token.empty() && !c.options.tls.has_value() &&
      !IsLoopbackUrl(server->tiles_url())) {
    LogWarning(
        "--private_feed_token_file without TLS on a listener other hosts "
        "reach: the feed's token and every record travel in the clear");
  }
  if (!c.options.registration.has_value() && !c.options.replica.has_value()) {
    LogWarning(
        "no --registration_key: anyone may create any account id (the "
        "first record of an id claims it); see docs/security.md");
  }
  std::string quorum = QuorumWarning(c.options.witness_quorum,
                                     c.options.cosignatures.witnesses.size());
  if (!quorum.empty()) LogWarning(absl::StripPrefix(quorum, "WARNING: "));
  if (c.options.cosignatures.witnesses.empty() &&
      !c.options.replica.has_value()) {
    LogWarning(
        "no --witness_keys: the log key names no witness, and clients "
        "refuse such a key unless they accept a log that could show them a "
        "history nobody else sees (ktctl init --allow_no_witnesses); run "
        "witnesses (docs/witness.md)");
  }
  ServeUntilStopped(server, c.backup_dir, signals);
  server->Shutdown();
  LogInfo("shut down cleanly");
  return 0;
}

}  // namespace
}  // namespace ktlog

int main(int argc, char** argv) { return ktlog::Main(argc, argv); }
