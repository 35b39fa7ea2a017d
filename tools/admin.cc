// ktlog-admin: the operator's offline tools: fsck of a log's data dir and
// the erasure of an account from it (the server must be stopped: the data
// dir is locked while they run), and the registration, reset and erasure
// credentials for an account id (what the registration service hands a
// client whose id it checked). See docs/operations.md and docs/security.md.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/log_client.h"
#include "core/account/record.h"
#include "core/account/registration.h"
#include "core/crypto/crypto.h"
#include "core/note/key_file.h"
#include "core/note/log_key.h"
#include "core/util/bytes.h"
#include "core/util/flags.h"
#include "log/fsck.h"
#include "log/server.h"
#include "log/storage/log_storage.h"

namespace {

constexpr char kUsage[] =
    "usage: ktlog-admin fsck --data_dir=DIR [--log_key=LOG_KEY]\n"
    "       ktlog-admin erase --data_dir=DIR --key_file=FILE --account=ID\n"
    "       ktlog-admin credential --registration_key=FILE --account=ID\n"
    "                              --account_key=HEX [--valid_for=24h]\n"
    "                              [--reset]\n"
    "       ktlog-admin credential --registration_key=FILE --account=ID\n"
    "                              --erase [--valid_for=24h]\n"
    "\n"
    "fsck: replays every leaf of the log in DIR with the private record\n"
    "behind it and checks everything stored against a recomputation: each\n"
    "record's signature and the account rules, both commitments' openings,\n"
    "each account's position against its VRF proof, versions and\n"
    "timestamps, tree nodes, leaf-hash and history entries, account states\n"
    "and the index root at every batch end, the latest index entries, and\n"
    "the latest checkpoint. Prints the first divergence and exits 1, or\n"
    "prints a summary and exits 0. With --log_key, also checks that the\n"
    "data dir belongs to that log.\n"
    "\n"
    "erase: erases account ID from the log in DIR (whose key file is FILE)\n"
    "on request: appends and signs its erasure leaf, deletes its records,\n"
    "states, history and the openings of its commitments, keeps its public\n"
    "leaves (every checkpoint and proof stays valid), and compacts the data\n"
    "dir so that nothing of it remains in any live file. Lookups then\n"
    "prove that the account existed and was erased; the id cannot be\n"
    "registered again on this log (docs/operations.md, \"Erasure\"). Backups\n"
    "made before hold it still: delete them.\n"
    "\n"
    "credential: prints the registration credential for account ID created\n"
    "with the account key HEX (the client's `ktctl init` prints it), under\n"
    "the registration key in FILE, valid for --valid_for from now\n"
    "(docs/security.md). With --reset, the reset credential for the\n"
    "account's new key HEX instead (`ktctl reset-account --prepare` prints\n"
    "it): only once you have checked, as at registration, that the person\n"
    "asking owns the account id, and told them that every contact of\n"
    "theirs will be alerted (docs/security-keys.md, \"Every key lost\").\n"
    "With --erase, the erasure credential for account ID, for the server's\n"
    "EraseAccount RPC (no --account_key). With --fetch_backup, the\n"
    "backup-fetch credential for account ID's trust backup (GetBackup; no\n"
    "--account_key): only once you have checked who is asking, as at\n"
    "registration (docs/backup.md).";

int Fail(const std::string& msg, int code) {
  fprintf(stderr, "ktlog-admin: %s\n", msg.c_str());
  return code;
}

// `ktlog-admin credential`.
int Credential(const std::string& registration_key, const std::string& account,
               const std::string& account_key_hex, absl::Duration valid_for,
               ktlog::CredentialPurpose purpose) {
  // Erasure and backup-fetch credentials name the account id alone.
  bool erase = purpose == ktlog::CredentialPurpose::kErase ||
               purpose == ktlog::CredentialPurpose::kFetchBackup;
  if (registration_key.empty() || account.empty() ||
      account_key_hex.empty() != erase) {
    return Fail(erase ? "--registration_key and --account are required, and "
                        "an erasure or backup-fetch credential takes no "
                        "--account_key"
                      : "--registration_key, --account and --account_key are "
                        "required",
                2);
  }
  if (absl::Status id = ktlog::ValidateAccountId(account); !id.ok()) {
    return Fail(absl::StrCat("--account: ", id.message()), 2);
  }
  absl::StatusOr<std::string> account_key = ktlog::HexDecode(account_key_hex);
  if (!account_key.ok() ||
      (!erase && !ktlog::Ed25519PublicKey::FromBytes(*account_key).ok())) {
    return Fail(
        "--account_key must be the account's Ed25519 public key in "
        "hex (64 digits, as `ktctl init` prints it)",
        2);
  }
  if (valid_for <= absl::ZeroDuration() || valid_for > absl::Hours(24 * 365)) {
    return Fail("--valid_for must be between 1s and 365 days", 2);
  }
  auto key = ktlog::RegistrationKey::Load(registration_key);
  if (!key.ok()) return Fail(std::string(key.status().message()), 1);
  uint64_t expiry =
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now() + valid_for));
  std::cout << key->CredentialFor(account, *account_key, expiry, purpose)
            << "\n";
  return 0;
}

// `ktlog-admin erase`: runs the log in this process, on the loopback
// interface, for one erasure through its EraseAccount RPC (the erasure leaf
// is appended and signed as the server would), then compacts the data dir
// (also when the account is gone already: an erasure whose compaction
// failed is finished this way).
int Erase(const std::string& data_dir, const std::string& key_file,
          const std::string& account) {
  if (key_file.empty()) {
    return Fail(
        "--key_file (the log's key file) is required: the erasure is "
        "a leaf the log signs",
        2);
  }
  if (absl::Status id = ktlog::ValidateAccountId(account); !id.ok()) {
    return Fail(absl::StrCat("--account: ", id.message()), 2);
  }
  absl::StatusOr<ktlog::KeyFile> keys = ktlog::LoadKeyFile(key_file);
  if (!keys.ok()) return Fail(std::string(keys.status().message()), 1);
  if (!keys->vrf.has_value()) {
    return Fail(absl::StrCat(key_file, " holds no VRF key: not a log's key"),
                1);
  }
  ktlog::RegistrationKey once = ktlog::RegistrationKey::Generate();
  ktlog::LogServerOptions options;
  options.data_dir = data_dir;
  options.registration = once;
  absl::Status erased;
  uint64_t version = 0;
  {
    auto server = ktlog::LogServer::Start(std::move(keys->signer),
                                          *std::move(keys->vrf), options);
    if (!server.ok()) return Fail(std::string(server.status().message()), 1);
    auto client =
        ktlog::LogClient::Create((*server)->address(), absl::Minutes(10));
    uint64_t expiry =
        static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())) + 600;
    absl::StatusOr<uint64_t> done = client->EraseAccount(
        account, once.CredentialFor(account, "", expiry,
                                    ktlog::CredentialPurpose::kErase));
    erased = done.status();
    if (done.ok()) version = *done;
  }
  auto storage = ktlog::LogStorage::Open(data_dir);
  absl::Status purged = storage.ok() ? (*storage)->Purge() : storage.status();
  if (!erased.ok()) {
    return Fail(absl::StrCat(erased.message(),
                             purged.ok() ? " (the data dir is compacted)" : ""),
                1);
  }
  if (!purged.ok()) {
    return Fail(absl::StrCat("the account is erased, but compacting the data "
                             "dir failed (run erase again to finish): ",
                             purged.message()),
                1);
  }
  std::cout << "erased: the account's " << version - 1
            << " records and their openings are deleted; its erasure leaf "
               "(version "
            << version << ") is signed\n";
  return 0;
}

// `ktlog-admin fsck`.
int Check(ktlog::LogStorage* storage) {
  ktlog::FsckReport report =
      ktlog::Fsck(storage, [](uint64_t done, uint64_t total) {
        if (done % 100000 == 0 || done == total) {
          fprintf(stderr, "ktlog-admin: checked %llu of %llu leaves\n",
                  static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total));
        }
      });
  if (!report.status.ok()) {
    return Fail(absl::StrCat("fsck FAILED: ", report.status.message()), 1);
  }
  std::cout << "fsck OK: " << report.records << " leaves and records, "
            << report.accounts << " accounts, " << report.erased
            << " erased accounts, " << report.index_versions
            << " index versions, " << report.index_entries
            << " index entries checked\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, log_key, registration_key, account, account_key,
      key_file;
  absl::Duration valid_for = absl::Hours(24);
  bool reset = false, erase = false, fetch_backup = false;
  ktlog::FlagSet flags(kUsage);
  flags.String("data_dir", &data_dir, "the log's data directory");
  flags.String("log_key", &log_key, "the log key clients pin (optional)");
  flags.String("key_file", &key_file, "erase: the log's key file");
  flags.String("registration_key", &registration_key,
               "credential: the registration key file");
  flags.String("account", &account, "credential: the account id");
  flags.String("account_key", &account_key,
               "credential: the account's first key (64 hex digits)");
  flags.Duration("valid_for", &valid_for,
                 "credential: how long it may be used");
  flags.Bool("reset", &reset,
             "credential: a reset credential for the account's new key, not a "
             "registration credential");
  flags.Bool("fetch_backup", &fetch_backup,
             "credential: a backup-fetch credential for the account's trust "
             "backup (GetBackup; no --account_key)");
  flags.Bool("erase", &erase,
             "credential: an erasure credential for the account (no "
             "--account_key)");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-admin", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (args.size() == 1 && args[0] == "credential") {
    if (reset + erase + fetch_backup > 1) {
      return Fail("one of --reset, --erase and --fetch_backup at most", 2);
    }
    return Credential(registration_key, account, account_key, valid_for,
                      reset          ? ktlog::CredentialPurpose::kReset
                      : erase        ? ktlog::CredentialPurpose::kErase
                      : fetch_backup ? ktlog::CredentialPurpose::kFetchBackup
                                     : ktlog::CredentialPurpose::kRegistration);
  }
  if (args.size() != 1 || (args[0] != "fsck" && args[0] != "erase")) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (data_dir.empty()) return Fail("--data_dir is required", 2);
  if (args[0] == "erase") return Erase(data_dir, key_file, account);
  auto storage = ktlog::LogStorage::Open(data_dir);
  if (!storage.ok()) return Fail(std::string(storage.status().message()), 1);
  if (!log_key.empty()) {
    // The log key as the server prints it (with its witness policy), or
    // the bare key: the data dir is bound to the log's keys, not its
    // policy.
    absl::StatusOr<ktlog::LogPublicKey> parsed =
        ktlog::LogPublicKey::Parse(log_key);
    if (!parsed.ok()) return Fail(std::string(parsed.status().message()), 2);
    auto identity = (*storage)->ReadIdentity();
    if (!identity.ok() || !identity->has_value() ||
        (*identity)->log_key != parsed->IdentityString()) {
      return Fail(absl::StrCat("the data dir does not belong to the log with "
                               "key ",
                               log_key),
                  1);
    }
  }
  return Check(storage->get());
}
