// ktlog-admin: the operator's offline tools: fsck of a log's data dir (the
// server must be stopped: the data dir is locked while it runs), and the
// registration credential for an account id (what the registration service
// hands a client whose id it checked). See docs/operations.md.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/account/registration.h"
#include "core/util/flags.h"
#include "log/fsck.h"
#include "log/storage/log_storage.h"

namespace {

constexpr char kUsage[] =
    "usage: ktlog-admin fsck --data_dir=DIR [--log_key=LOG_KEY]\n"
    "       ktlog-admin credential --registration_key=FILE --account=ID\n"
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
    "credential: prints the registration credential for account ID under\n"
    "the registration key in FILE (docs/security.md).";

int Fail(const std::string& msg, int code) {
  fprintf(stderr, "ktlog-admin: %s\n", msg.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, log_key, registration_key, account;
  ktlog::FlagSet flags(kUsage);
  flags.String("data_dir", &data_dir, "the log's data directory");
  flags.String("log_key", &log_key, "the log key clients pin (optional)");
  flags.String("registration_key", &registration_key,
               "credential: the registration key file");
  flags.String("account", &account, "credential: the account id");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-admin", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (args.size() == 1 && args[0] == "credential") {
    if (registration_key.empty() || account.empty()) {
      return Fail("--registration_key and --account are required", 2);
    }
    auto key = ktlog::RegistrationKey::Load(registration_key);
    if (!key.ok()) return Fail(std::string(key.status().message()), 1);
    std::cout << key->CredentialFor(account) << "\n";
    return 0;
  }
  if (args.size() != 1 || args[0] != "fsck") {
    std::cerr << kUsage << "\n";
    return 2;
  }
  if (data_dir.empty()) return Fail("--data_dir is required", 2);
  auto storage = ktlog::LogStorage::Open(data_dir);
  if (!storage.ok()) return Fail(std::string(storage.status().message()), 1);
  if (!log_key.empty()) {
    auto identity = (*storage)->ReadIdentity();
    if (!identity.ok() || !identity->has_value() ||
        (*identity)->log_key != log_key) {
      return Fail(absl::StrCat("the data dir does not belong to the log with "
                               "key ",
                               log_key),
                  1);
    }
  }
  ktlog::FsckReport report =
      ktlog::Fsck(storage->get(), [](uint64_t done, uint64_t total) {
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
            << report.accounts << " accounts, " << report.index_versions
            << " index versions, " << report.index_entries
            << " index entries checked\n";
  return 0;
}
