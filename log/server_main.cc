// ktlog-server: the ktlog log server. See docs/operations.md.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/note/key_file.h"
#include "core/util/flags.h"
#include "core/util/logging.h"
#include "log/server.h"

namespace {

int Fail(const std::string& msg, int code = 1) {
  fprintf(stderr, "ktlog-server: %s\n", msg.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using ktlog::FlagSet;
  std::string data_dir, key_file, origin;
  std::string listen = "127.0.0.1:8020";
  std::string backup_dir, witness_keys;
  uint64_t batch_size = 512, max_pending = 8192;
  ktlog::LogServerOptions options;
  FlagSet flags(
      "usage: ktlog-server --data_dir=DIR --key_file=FILE [flags]\n\n"
      "Runs a ktlog key transparency log: appends signed device records to an\n"
      "RFC 9162 Merkle tree in RocksDB under DIR, signs C2SP checkpoints with\n"
      "the key in FILE (made by ktlog-keygen) and serves ktlog.v1.Log over\n"
      "gRPC. Prints \"listening on HOST:PORT\" once ready; SIGTERM or SIGINT\n"
      "shut it down gracefully; SIGUSR1 writes an online backup to\n"
      "--backup_dir.");
  flags.String("data_dir", &data_dir,
               "RocksDB data directory (created if missing)");
  flags.String("key_file", &key_file, "the log's signing key file");
  flags.String("origin", &origin,
               "the log's origin; must equal the key's name (the default)");
  flags.String("listen", &listen,
               "host:port to serve on (port 0: any free port)");
  flags.Uint64("batch_size", &batch_size,
               "most records per batch (group commit)");
  flags.Duration("batch_delay", &options.sequencer.batch_delay,
                 "how long a batch waits to fill after its first record");
  flags.Duration("checkpoint_interval", &options.sequencer.checkpoint_interval,
                 "sign a heartbeat checkpoint after this long without writes");
  flags.Uint64("max_pending", &max_pending,
               "most queued writes before RESOURCE_EXHAUSTED");
  flags.Duration(
      "max_record_skew", &options.service.max_record_skew,
      "reject records whose timestamp is further than this from now");
  flags.String("witness_keys", &witness_keys,
               "comma-separated verifier keys (type 0x04) of the witnesses "
               "whose cosignatures the log accepts");
  flags.Duration("witness_timeout", &options.cosignatures.witness_timeout,
                 "hand witnesses the latest checkpoint to cosign once all of "
                 "them cosigned the one before, or after this long");
  flags.String("backup_dir", &backup_dir,
               "where SIGUSR1 writes an online backup (a new subdirectory)");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-server", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (!args.empty()) return Fail("unexpected argument " + args[0], 2);
  if (data_dir.empty()) return Fail("--data_dir is required", 2);
  if (key_file.empty()) return Fail("--key_file is required", 2);
  if (batch_size == 0 || batch_size > 100000) {
    return Fail("--batch_size must be between 1 and 100000", 2);
  }
  if (max_pending == 0) return Fail("--max_pending must be at least 1", 2);
  if (options.sequencer.checkpoint_interval < absl::Milliseconds(10)) {
    return Fail("--checkpoint_interval must be at least 10ms", 2);
  }
  for (absl::string_view k :
       absl::StrSplit(witness_keys, ',', absl::SkipEmpty())) {
    absl::StatusOr<ktlog::NoteVerifierKey> w = ktlog::NoteVerifierKey::Parse(k);
    if (!w.ok() || w->type != ktlog::kNoteTypeCosignatureV1) {
      return Fail(
          absl::StrCat("--witness_keys: \"", k,
                       "\" is not a witness verifier key (make one with "
                       "ktlog-keygen --type=witness)"),
          2);
    }
    options.cosignatures.witnesses.push_back(*std::move(w));
  }
  options.sequencer.max_batch_size = batch_size;
  options.sequencer.max_pending = max_pending;
  options.data_dir = data_dir;
  options.listen_address = listen;

  absl::StatusOr<ktlog::NoteSigner> signer = ktlog::LoadSignerKeyFile(key_file);
  if (!signer.ok()) return Fail(std::string(signer.status().message()));
  if (!origin.empty() && origin != signer->name()) {
    return Fail(absl::StrCat("--origin \"", origin,
                             "\" differs from the signing key's name \"",
                             signer->name(),
                             "\"; a log signs checkpoints with a key named "
                             "after its origin (make one with ktlog-keygen "
                             "--name)"),
                2);
  }

  // Handle SIGTERM/SIGINT in this thread only: block them before any other
  // thread starts, then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<ktlog::LogServer>> server =
      ktlog::LogServer::Start(*std::move(signer), options);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  std::shared_ptr<const ktlog::PublishedCheckpoint> cp =
      (*server)->publisher()->Latest();
  std::cout << "ktlog-server: listening on " << (*server)->address()
            << " origin " << (*server)->origin() << " tree size "
            << (cp ? cp->checkpoint.size : 0) << "\n"
            << "ktlog-server: verifier key "
            << (*server)->verifier_key().ToString() << std::endl;
  ktlog::LogInfo("serving ", (*server)->origin(), " on ", (*server)->address(),
                 " from ", data_dir);

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGUSR1) break;
    if (backup_dir.empty()) {
      ktlog::LogWarning(
          "SIGUSR1 asks for a backup but --backup_dir is not set");
      continue;
    }
    absl::StatusOr<std::string> dir = (*server)->Backup(backup_dir);
    if (dir.ok()) {
      ktlog::LogInfo("backup written to ", *dir);
    } else {
      ktlog::LogError("backup failed: ", dir.status().message());
    }
  }
  ktlog::LogInfo("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 "; shutting down");
  (*server)->Shutdown();
  ktlog::LogInfo("shut down cleanly");
  return 0;
}
