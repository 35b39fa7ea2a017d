// ktctl backup: the trust backup (docs/backup.md). create seals the state
// (verifier/trust_backup.h), records the backup in the log and uploads it;
// restore fetches it into a new state dir, opens it, and checks the log
// from the backup's checkpoint forward before the state is used; status
// and delete.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/ktctl_framework.h"
#include "core/backup/backup.h"
#include "core/crypto/hash.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"
#include "verifier/trust_backup.h"

namespace ktlog {
namespace {

// A sealed backup recorded in the log and not yet uploaded.
constexpr char kPendingFile[] = "backup.sealed";

std::string WrapKinds(const std::vector<BackupWrap>& wraps) {
  std::vector<std::string> kinds;
  size_t keys = 0;
  for (const BackupWrap& w : wraps) {
    if (w.type == WrapType::kSecurityKey) {
      ++keys;
    } else {
      kinds.push_back(absl::StrCat("a ", WrapTypeName(w.type)));
    }
  }
  if (keys > 0) {
    kinds.push_back(keys == 1 ? "a security key"
                              : absl::StrCat(keys, " security keys"));
  }
  return kinds.empty() ? "no secret" : absl::StrJoin(kinds, " and ");
}

// The key files of the state dir that a backup carries.
absl::StatusOr<std::map<std::string, std::string>> KeyFiles(Context& ctx) {
  std::map<std::string, std::string> files;
  for (const char* name : kBackupFiles) {
    absl::StatusOr<std::string> bytes = ReadSecretFile(ctx.Path(name), 4096);
    if (absl::IsNotFound(bytes.status())) continue;
    if (!bytes.ok()) return bytes.status();
    files[name] = *std::move(bytes);
  }
  return files;
}

// Removes `dir` and everything in it, if it exists.
absl::Status RemoveTree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  FILE* f = fopen(dir.c_str(), "r");
  if (f == nullptr) return absl::OkStatus();
  int rc = fsync(fileno(f));
  fclose(f);
  return rc == 0 ? absl::OkStatus()
                 : absl::FailedPreconditionError(
                       absl::StrCat("cannot sync directory ", dir));
}

// The sealed bytes of a backup recorded and not yet uploaded, in
// <state>/backup.sealed.
class PendingFile : public PendingBackup {
 public:
  explicit PendingFile(std::string path) : path_(std::move(path)) {}
  absl::Status Keep(const std::string& sealed) override {
    return WriteFileAtomically(path_, sealed, 0600);
  }
  absl::StatusOr<std::string> Load() override {
    return ReadFileBounded(path_, kMaxStoredBackupBytes);
  }
  void Drop() override { unlink(path_.c_str()); }

 private:
  std::string path_;
};

// The steps of a backup or deletion in the state dir, recorded through
// Publish (ktctl's waiting and messages).
class Steps {
 public:
  Steps(Context& ctx, ClientState* s)
      : store_(ctx.globals().state_dir), pending_(ctx.Path(kPendingFile)) {
    steps_.state = s;
    steps_.store = &store_;
    steps_.pending = &pending_;
    steps_.record = [&ctx](const BackupRef& ref) {
      return Publish(ctx,
                     [&](OwnAccount* own) { return own->RecordBackup(ref); });
    };
  }
  // With the provider (the log client, made on first use).
  absl::StatusOr<BackupSteps> With(Context& ctx) {
    ASSIGN_OR_RETURN(LogClient * client, ctx.client());
    steps_.provider = client;
    return steps_;
  }

 private:
  DirStateStore store_;
  PendingFile pending_;
  BackupSteps steps_;
};

// FinishBackupUpload, saying on standard error what it did.
absl::Status FinishUpload(Context& ctx, ClientState* s) {
  const TrustBackupState& b = s->backup;
  if (b.uploaded || b.latest.version == 0 || b.record_version == 0) {
    return absl::OkStatus();
  }
  Steps steps(ctx, s);
  ASSIGN_OR_RETURN(BackupSteps with, steps.With(ctx));
  ASSIGN_OR_RETURN(std::string note, FinishBackupUpload(with));
  if (!note.empty()) std::cerr << "ktctl: " << note << "\n";
  return absl::OkStatus();
}

// MakeBackup of the state dir's state and key files.
absl::StatusOr<MadeBackup> BackUp(Context& ctx, ClientState* s) {
  ASSIGN_OR_RETURN(auto files, KeyFiles(ctx));
  Steps steps(ctx, s);
  ASSIGN_OR_RETURN(BackupSteps with, steps.With(ctx));
  absl::StatusOr<MadeBackup> made = MakeBackup(with, files);
  for (auto& [name, bytes] : files) WipeSecret(&bytes);
  return made;
}

class BackupCommand : public Command {
 public:
  const char* name() const override { return "backup"; }
  const char* summary() const override {
    return "create | restore | status | delete your encrypted trust backup";
  }
  const char* usage() const override {
    return "usage: ktctl backup create [--recovery_key] "
           "[--passphrase_file=FILE|-]\n"
           "             [--security_keys=KEY[,KEY...]]\n"
           "       ktctl --state=NEWDIR [--security_key=KEY] backup restore "
           "--account=ID --log_key=KEY\n"
           "             (--recovery_key_file=FILE|- | "
           "--passphrase_file=FILE|- |\n"
           "              the --security_key given)\n"
           "             [--credential_file=FILE|-]\n"
           "       ktctl backup status\n"
           "       ktctl backup delete\n\n"
           "create seals this client's trust (the pinned log key, the trusted\n"
           "checkpoint, your contacts and codes, your account and its key) "
           "under\na backup key that only your secrets open, records the "
           "backup's hash in\nyour account's history in the log, and has the "
           "provider store it. The\nfirst backup needs a secret: "
           "--recovery_key makes a recovery key,\nshown once (write it down), "
           "and --passphrase_file takes a passphrase of\nat least 12 "
           "characters; --security_keys makes a credential on each FIDO2 key "
           "(hidraw\npaths from `ktctl security-key devices`; touch each "
           "twice) whose\nhmac-secret opens it. Giving any later replaces "
           "the secrets.\n\n"
           "restore, on a new phone, fetches the backup (with the operator's\n"
           "backup-fetch credential where the log needs one), opens it with "
           "a\nsecret, and checks the log from the backup's checkpoint on "
           "before the\nstate is used: a backup older than your latest, or a "
           "device added\nmeanwhile, is an alert. NEWDIR must not hold a "
           "state.\n\n"
           "delete records that you have no backup and has the provider "
           "delete it.";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("recovery_key", &new_recovery_key_,
            "create: make a new recovery key (shown once)");
    f->String("passphrase_file", &passphrase_file_,
              "create, restore: a file holding the passphrase (- for "
              "standard input)");
    f->String("recovery_key_file", &recovery_key_file_,
              "restore: a file holding the recovery key (- for standard "
              "input)");
    f->String("account", &account_, "restore: your account id");
    f->String("log_key", &log_key_,
              "restore: the log's key, as for init (the backup must pin "
              "the same)");
    f->String("security_keys", &security_keys_,
              "create: FIDO2 security keys that open the backup (hidraw "
              "paths, comma-separated; touch each twice)");
    f->Uint64("passphrase_memory", &memory_,
              "create: Argon2id memory in bytes for the passphrase "
              "(at least 64 MiB)");
    f->Duration("max_checkpoint_age", &max_age_,
                "restore: the oldest checkpoint at which the restored "
                "account may be checked");
    credential_.Add(f, "backup-fetch (if the log requires one)");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (args.size() != 1 && !(args.size() == 2 && args[0] == "automatic")) {
      return UsageError(
          "give create, restore, status, delete or automatic on|off");
    }
    if (args[0] == "create") return Create(ctx);
    if (args[0] == "restore") return Restore(ctx);
    if (args[0] == "status") return Status(ctx);
    if (args[0] == "delete") return Delete(ctx);
    if (args[0] == "automatic") return Automatic(ctx, args);
    return UsageError(
        "give create, restore, status, delete or automatic on|off");
  }

 private:
  absl::StatusOr<Output> Create(Context& ctx) {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    RETURN_IF_ERROR(FinishUpload(ctx, s));
    std::string recovery_text;
    if (new_recovery_key_ || !passphrase_file_.empty() ||
        !security_keys_.empty()) {
      BackupSecrets secrets;
      secrets.recovery_key = new_recovery_key_;
      if (!passphrase_file_.empty()) {
        ASSIGN_OR_RETURN(secrets.passphrase,
                         ReadLineArgument(passphrase_file_, "passphrase"));
      }
      secrets.memory = memory_;
      // Open only while their credentials are made (the key that signs
      // for the account, maybe one of them, is opened afterwards).
      std::vector<std::unique_ptr<SecurityKeyDevice>> keys;
      std::vector<std::string> paths =
          absl::StrSplit(security_keys_, ',', absl::SkipEmpty());
      if (std::set<std::string>(paths.begin(), paths.end()).size() !=
          paths.size()) {
        return UsageError("--security_keys names one key twice");
      }
      for (const std::string& path : paths) {
        ASSIGN_OR_RETURN(std::unique_ptr<SecurityKeyDevice> key,
                         ctx.OpenSecurityKey(path));
        secrets.security_keys.push_back(key.get());
        keys.push_back(std::move(key));
      }
      absl::StatusOr<std::string> made = SetBackupSecrets(s, secrets);
      keys.clear();
      WipeSecret(&secrets.passphrase);
      if (!made.ok()) return made.status();
      recovery_text = *std::move(made);
      if (!recovery_text.empty()) {
        // Shown before anything is saved or sent: a command that dies
        // after the state holds the new key must not leave backups that
        // only a key nobody saw opens.
        std::cerr << "your new recovery key (write it down and keep it away "
                     "from this phone; it is shown only now):\n  "
                  << recovery_text << std::endl;
      }
    } else if (s->backup.key.empty()) {
      return UsageError(
          "your first backup needs a secret to open it: --recovery_key "
          "(shown once: write it down), --passphrase_file=FILE, "
          "--security_keys=KEY,KEY, or several");
    }
    ASSIGN_OR_RETURN(MadeBackup made, BackUp(ctx, s));
    const BackupRef& ref = made.ref;
    const OwnAccount::Written& w = made.written;
    nlohmann::json extra = {{"backup_version", ref.version},
                            {"backup_sha256", ref.hash.ToHex()},
                            {"bytes", made.bytes}};
    if (!recovery_text.empty()) extra["recovery_key"] = recovery_text;
    return Describe(
        absl::StrCat("backup ", ref.version, " (", made.bytes,
                     " bytes, opened by ", WrapKinds(s->backup.wraps),
                     ") recorded at leaf index ", w.appended.leaf_index,
                     " and stored by the provider"),
        w, extra);
  }

  absl::StatusOr<Output> Automatic(Context& ctx,
                                   const std::vector<std::string>& args) {
    if (args.size() != 2 || (args[1] != "on" && args[1] != "off")) {
      return UsageError("give automatic on or automatic off");
    }
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    if (args[1] == "on" && s->backup.key.empty()) {
      return UsageError(
          "make a first backup with its secrets first (ktctl backup create "
          "--recovery_key)");
    }
    s->backup.automatic = args[1] == "on";
    return Output{
        s->backup.automatic
            ? "automatic backups on: each change of your trust (a device, a "
              "key, a verified contact, the policy) is backed up by the "
              "next command that writes or monitors, once your witnesses "
              "have cosigned your account"
            : "automatic backups off",
        {{"automatic", s->backup.automatic}}};
  }

  absl::StatusOr<Output> Status(Context& ctx) {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    const TrustBackupState& b = s->backup;
    nlohmann::json j = {{"backup_version", b.latest.version},
                        {"deleted", b.latest.version > 0 && b.latest.deleted()},
                        {"backup_sha256", b.latest.hash.ToHex()},
                        {"uploaded", b.uploaded},
                        {"automatic", b.automatic},
                        {"secrets", WrapKinds(b.wraps)}};
    if (b.latest.version == 0) {
      return Output{"no backup yet (ktctl backup create --recovery_key)", j};
    }
    if (b.latest.deleted()) {
      return Output{absl::StrCat("your backup was deleted (record version ",
                                 b.latest.version, ")"),
                    j};
    }
    return Output{
        absl::StrCat("backup ", b.latest.version, " (SHA-256 ",
                     b.latest.hash.ToHex().substr(0, 16), "…), opened by ",
                     WrapKinds(b.wraps), "; ",
                     b.uploaded ? "stored by the provider"
                                : "NOT stored by the provider: run `ktctl "
                                  "backup create` again"),
        j};
  }

  absl::StatusOr<Output> Delete(Context& ctx) {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    RETURN_IF_ERROR(FinishUpload(ctx, s));
    Steps steps(ctx, s);
    ASSIGN_OR_RETURN(BackupSteps with, steps.With(ctx));
    ASSIGN_OR_RETURN(OwnAccount::Written w, DeleteBackup(with));
    return Describe(
        absl::StrCat("recorded at leaf index ", w.appended.leaf_index,
                     " that you have no backup; the provider "
                     "deleted its copy"),
        w);
  }

  absl::StatusOr<Output> Restore(Context& ctx) {
    const std::string target = ctx.globals().state_dir;
    ASSIGN_OR_RETURN(BackupContents contents, FetchAndOpen(ctx, target));
    const uint64_t from_version = contents.state.own_state.version + 1;
    // Filled apart, checked, then moved into place: a crash or a refusal
    // leaves no state behind (the next restore clears what is left).
    const std::string staging = target + ".restoring";
    RETURN_IF_ERROR(RemoveTree(staging));
    RETURN_IF_ERROR(MakeDirs(staging, 0700));
    for (auto& [name, bytes] : contents.files) {
      RETURN_IF_ERROR(CreateSecretFile(staging + "/" + name, bytes));
      WipeSecret(&bytes);
    }
    RETURN_IF_ERROR(SaveClientState(staging, contents.state));
    absl::StatusOr<std::vector<Alert>> raised = CheckRestored(ctx, staging);
    if (!raised.ok()) {
      RETURN_IF_ERROR(RemoveTree(staging));
      return raised.status();
    }
    rmdir(target.c_str());  // an empty target dir; else rename refuses
    if (rename(staging.c_str(), target.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot move the restored state into ", target, " (",
                       staging, " holds it)"));
    }
    RETURN_IF_ERROR(
        SyncDir(std::filesystem::path(target).parent_path().string()));
    ASSIGN_OR_RETURN(ClientState s, LoadClientState(target));
    return Restored(s, target, from_version, *raised);
  }

  // The backup the provider hands over, opened with the secret given: the
  // checks before anything is fetched, then the fetch and the opening.
  absl::StatusOr<BackupContents> FetchAndOpen(Context& ctx,
                                              const std::string& target) {
    if (account_.empty() || log_key_.empty()) {
      return UsageError(
          "restore needs --account=ID and --log_key=KEY (the log's key, as "
          "for init: the backup must pin the same)");
    }
    const bool with_key = !ctx.globals().security_key.empty();
    if (int(!recovery_key_file_.empty()) + int(!passphrase_file_.empty()) +
            int(with_key) !=
        1) {
      return UsageError(
          "restore needs one secret: --recovery_key_file, --passphrase_file, "
          "or a security key the backup was made for (--security_key=KEY "
          "before the command)");
    }
    struct stat st;
    if (stat((target + "/state.json").c_str(), &st) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(target,
                       " already holds a client state: restore into a new "
                       "state dir (--state=NEWDIR)"));
    }
    ASSIGN_OR_RETURN(std::string credential, credential_.Read());
    BackupSecret secret;
    if (with_key) {
      secret.type = WrapType::kSecurityKey;
      ASSIGN_OR_RETURN(secret.security_key, ctx.security_key());
    } else if (!recovery_key_file_.empty()) {
      secret.type = WrapType::kRecoveryKey;
      ASSIGN_OR_RETURN(secret.text,
                       ReadLineArgument(recovery_key_file_, "recovery key"));
    } else {
      secret.type = WrapType::kPassphrase;
      ASSIGN_OR_RETURN(secret.text,
                       ReadLineArgument(passphrase_file_, "passphrase"));
    }
    ASSIGN_OR_RETURN(LogClient * client, ctx.client());
    absl::StatusOr<FetchedBackup> fetched =
        client->GetBackup(account_, credential);
    if (absl::IsUnauthenticated(fetched.status())) {
      // The log's answer, not a failed check of ours.
      return absl::PermissionDeniedError(fetched.status().message());
    }
    if (!fetched.ok()) return fetched.status();
    record_version_ = fetched->record_version;
    absl::StatusOr<BackupContents> contents =
        OpenTrustBackup(fetched->sealed, account_, log_key_, secret);
    WipeSecret(&secret.text);
    return contents;
  }

  // What a restore says: the contacts, the alerts of its check, and every
  // device the account has now with when it was added (a backup made after
  // the phone was lost, by whoever holds its account key, takes the
  // devices added before it as the owner's; the dates show them).
  static Output Restored(const ClientState& s, const std::string& target,
                         uint64_t from_version,
                         const std::vector<Alert>& raised) {
    std::string device_text;
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& [id, d] : s.own_state.devices) {
      absl::StatusOr<DeviceRecord> r = DecodeRecord(d.record);
      uint64_t added = r.ok() ? r->timestamp_ms : 0;
      devices.push_back({{"device_id", id}, {"added_ms", added}});
      absl::StrAppend(&device_text, "\n  ", id, " (added ", TimeText(added),
                      ")");
    }
    nlohmann::json alerts = nlohmann::json::array();
    std::string alert_text;
    for (const Alert& a : raised) {
      alerts.push_back(a.ToJson());
      absl::StrAppend(&alert_text, "\n  ", AlertTypeName(a.type), ": ",
                      a.message);
    }
    Output out{absl::StrCat(
                   "restored backup ", s.backup.latest.version, " of ",
                   s.account_id, " into ", target, ": ", s.contacts.size(),
                   " contact(s), your account checked from version ",
                   from_version, " on; ",
                   raised.empty() ? "nothing changed that you did not do"
                                  : absl::StrCat(raised.size(),
                                                 " alert(s) about what changed "
                                                 "while the backup was away:",
                                                 alert_text),
                   "\nyour account's devices: check that you added each "
                   "one:",
                   device_text,
                   "\nthis phone is not one of your devices yet: `ktctl "
                   "device add NAME` adds it"),
               {{"backup_version", s.backup.latest.version},
                {"contacts", s.contacts.size()},
                {"devices", devices},
                {"alerts", alerts}}};
    if (!raised.empty()) out.exit_code = kExitVerification;
    return out;
  }

  // CheckRestoredState of the restored state in `dir`.
  absl::StatusOr<std::vector<Alert>> CheckRestored(Context& ctx,
                                                   const std::string& dir) {
    Globals g = ctx.globals();
    g.state_dir = dir;
    g.security_key.clear();  // the check signs nothing
    Context restored(g);
    ASSIGN_OR_RETURN(ClientState * state, restored.state());
    ASSIGN_OR_RETURN(OwnAccount * own, restored.own());
    ASSIGN_OR_RETURN(ClientVerifier * v, restored.verifier());
    absl::StatusOr<std::vector<Alert>> raised =
        CheckRestoredState(state, own, v, *RealClock::Get(), max_age_,
                           "--max_checkpoint_age", record_version_);
    RETURN_IF_ERROR(restored.Release());
    return raised;
  }

  absl::Duration max_age_ = absl::Minutes(15);
  uint64_t record_version_ = 0;  // where the provider says the record is
  bool new_recovery_key_ = false;
  std::string passphrase_file_, recovery_key_file_, account_, security_keys_,
      log_key_;
  uint64_t memory_ = kDefaultPassphraseMemory;
  CredentialFlags credential_;
};

}  // namespace

void AutomaticBackup(Context& ctx) {
  absl::StatusOr<ClientState*> state = ctx.state();
  if (!state.ok()) return;
  ClientState* s = *state;
  const TrustBackupState& b = s->backup;
  if (!b.automatic || !s->own_state.exists()) return;
  if (!b.uploaded) {  // an upload (or a deletion) an earlier command left
    if (absl::Status f = FinishUpload(ctx, s); !f.ok()) {
      std::cerr << "ktctl: automatic backup: the provider did not take "
                   "backup "
                << b.latest.version
                << " yet (the next command tries again): " << f.message()
                << "\n";
      return;
    }
  }
  if (b.key.empty() || TrustFingerprint(*s) == b.trust_hash) return;
  if (UnverifiedOwn(*s) > 0) {
    std::cerr << "ktctl: automatic backup waits until your witnesses have "
                 "cosigned your new records (`ktctl --wait=2m monitor`)\n";
    return;
  }
  absl::StatusOr<MadeBackup> made = BackUp(ctx, s);
  if (!made.ok()) {
    std::cerr << "ktctl: automatic backup not made (the next command tries "
                 "again): "
              << made.status().message() << "\n";
    return;
  }
  std::cerr << "ktctl: automatic backup " << made->ref.version
            << " recorded and stored by the provider\n";
}

void AddBackupCommands(CommandTable* table) {
  table->push_back(std::make_unique<BackupCommand>());
}

}  // namespace ktlog
