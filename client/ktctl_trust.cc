// ktctl commands about trust in accounts: lookup, history, monitor, alerts,
// contact, code, policy.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/ktctl_framework.h"
#include "client/qr.h"
#include "core/account/security_key.h"
#include "core/note/log_key.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "verifier/codes.h"
#include "verifier/contact_code.h"

namespace ktlog {
namespace {

// One argument: an account.
absl::Status WantAccount(const std::vector<std::string>& args) {
  if (args.size() != 1) return UsageError("give one ACCOUNT");
  return absl::OkStatus();
}

absl::StatusOr<VerifiedAccount> VerifiedLookup(Context& ctx,
                                               const std::string& account,
                                               LogCheckpoint* cp) {
  ASSIGN_OR_RETURN(*cp, ctx.RefreshCheckpoint());
  ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
  return v->LookupExisting(*cp, account);
}

class LookupCommand : public Command {
 public:
  const char* name() const override { return "lookup"; }
  const char* summary() const override {
    return "an account's verified device set";
  }
  const char* usage() const override {
    return "usage: ktctl lookup ACCOUNT\n\n"
           "Looks up ACCOUNT's complete device set at the latest checkpoint "
           "and\nverifies it: the index proof against the checkpoint's signed "
           "index\nroot, every device record's signature, and the chain of "
           "account keys\nfrom the account's first record. A contact is also "
           "checked as\n`ktctl monitor` checks it: a key or a device that "
           "differs from what you\nverified is an alert (exit 3). A missing "
           "account is proved absent\n(exit 1).";
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    RETURN_IF_ERROR(WantAccount(args));
    LogCheckpoint cp;
    ASSIGN_OR_RETURN(VerifiedAccount account,
                     VerifiedLookup(ctx, args[0], &cp));
    const AccountState& s = *account.state;
    nlohmann::json devices = nlohmann::json::array();
    std::string text =
        absl::StrCat(s.account_id, ": ", AuthorityText(s.account_key),
                     ", version ", s.version, ", ", s.devices.size(),
                     " device(s), verified at tree size ", cp.size);
    for (const VerifiedDevice& d : account.devices) {
      devices.push_back({{"device_id", d.record.device_id},
                         {"key", HexEncode(d.record.key)},
                         {"leaf_index", d.leaf_index},
                         {"added_at_version", d.record.account_version}});
      absl::StrAppend(&text, "\n  ", d.record.device_id, "  ",
                      HexEncode(d.record.key), "  (leaf ", d.leaf_index, ")");
    }
    nlohmann::json resets = nlohmann::json::array();
    for (const VerifiedReset& r : account.resets) {
      resets.push_back({{"version", r.version}, {"leaf_index", r.leaf_index}});
      absl::StrAppend(&text, "\n  RESET by the log's operator at version ",
                      r.version,
                      " (every key lost): compare safety codes before you "
                      "trust these devices");
    }
    return Output{text,
                  {{"account_id", s.account_id},
                   {"account_key", HexEncode(s.account_key)},
                   {"version", s.version},
                   {"devices", devices},
                   {"resets", resets},
                   {"tree_size", cp.size}}};
  }
};

class HistoryCommand : public Command {
 public:
  const char* name() const override { return "history"; }
  const char* summary() const override {
    return "your account's verified records";
  }
  const char* usage() const override {
    return "usage: ktctl history ACCOUNT [--from=VERSION]\n\n"
           "Prints every record of ACCOUNT, your own account, from a version "
           "on, each\nverified (its leaf's inclusion proof, position and "
           "commitment openings),\nreplayed with the account rules, and "
           "checked to lead to the state the\nindex proves. An answer that "
           "does not verify raises INVALID_PROOF, as a\nlookup does. The log "
           "serves a history only to the account's owner\n(docs/privacy.md): "
           "for anyone else's account, ktctl lookup.";
  }
  void AddFlags(FlagSet* f) override {
    f->Uint64("from", &from_, "first version to show");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    RETURN_IF_ERROR(WantAccount(args));
    if (from_ == 0) return UsageError("--from starts at 1");
    ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
    ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
    // Replaying needs every record from version 1; those before --from are
    // verified but not shown.
    ASSIGN_OR_RETURN(std::vector<VerifiedDevice> records,
                     v->History(cp, args[0]));
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const VerifiedDevice& r : records) {
      if (r.record.account_version < from_) continue;
      nlohmann::json rj = RecordJson(r.record);
      rj["leaf_index"] = r.leaf_index;
      j.push_back(rj);
      absl::StrAppend(&text, r.leaf_index, "  ", RecordText(r.record), "\n");
    }
    return Output{text.empty() ? "no records" : text, j};
  }

 private:
  uint64_t from_ = 1;
};

class MonitorCommand : public Command {
 public:
  const char* name() const override { return "monitor"; }
  const char* summary() const override {
    return "check your account, contacts and the log; raise alerts";
  }
  const char* usage() const override {
    return "usage: ktctl monitor [--follow] [--interval=30s]\n\n"
           "Fetches and checks the latest checkpoint, every record of your "
           "own\naccount since the last check (a device you did not add "
           "raises\nUNEXPECTED_DEVICE, even if it was removed again), and "
           "every contact.\nExit 3 if it raised an alert. --follow repeats "
           "forever. With --wait,\nit also waits until your witnesses have "
           "cosigned your new records\nand verifies them (the pass says how "
           "many are still waiting).";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("follow", &follow_, "keep monitoring");
    f->Duration("interval", &interval_, "time between checks with --follow");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("monitor takes no arguments");
    if (!follow_) return Pass(ctx);
    for (;;) {
      absl::StatusOr<Output> out = Pass(ctx);
      // Between passes the state dir is free for other ktctl commands.
      RETURN_IF_ERROR(ctx.Release());
      std::cout << (out.ok() ? out->human : std::string(out.status().message()))
                << std::endl;
      absl::SleepFor(interval_);
    }
  }

 private:
  // One monitoring pass; says what was checked.
  absl::StatusOr<Output> Pass(Context& ctx) {
    ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
    ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
    RETURN_IF_ERROR(own->Monitor());
    ASSIGN_OR_RETURN(ClientState * state, ctx.state());
    if (UnverifiedOwn(*state) > 0 &&
        ctx.globals().wait > absl::ZeroDuration()) {
      RETURN_IF_ERROR(ctx.VerifyOwnRecords(absl::Now() + ctx.globals().wait));
    }
    ASSIGN_OR_RETURN(std::optional<LogCheckpoint> cp, v->Trusted());
    uint64_t size = cp.has_value() ? cp->size : 0;
    size_t alerts = v->raised().size();
    return Output{
        absl::StrCat("checked at tree size ", size,
                     ": your account at version ", state->own_state.version,
                     " with ", state->own_state.devices.size(), " device(s), ",
                     state->contacts.size(), " contact(s); ",
                     alerts == 0 ? "no new alerts"
                                 : absl::StrCat(alerts, " new alert(s)"),
                     UnverifiedOwn(*state) == 0
                         ? ""
                         : absl::StrCat("; ", UnverifiedOwn(*state),
                                        " record(s) of yours not verified "
                                        "yet (waiting for your witnesses)")),
        {{"tree_size", size},
         {"own_unverified", UnverifiedOwn(*state)},
         {"own_version", state->own_state.version},
         {"contacts", state->contacts.size()},
         {"new_alerts", alerts}}};
  }

  bool follow_ = false;
  absl::Duration interval_ = absl::Seconds(30);
};

class AlertsCommand : public Command {
 public:
  const char* name() const override { return "alerts"; }
  const char* summary() const override {
    return "list alerts, show one with its evidence, acknowledge one";
  }
  const char* usage() const override {
    return "usage: ktctl alerts [--all]\n"
           "       ktctl alerts show ID\n"
           "       ktctl alerts ack ID\n\n"
           "Lists the alerts raised and not acknowledged yet (--all: every "
           "one,\nacknowledged too), prints one with its evidence (the "
           "signed\ncheckpoints and records that show what happened, to hand "
           "to someone\nelse), or acknowledges one: it stays in the state "
           "with its evidence\nbut is no longer listed. Comparing codes "
           "again with a contact\nacknowledges its CONTACT_KEY_CHANGED. ID: "
           "at least the first 8 digits.\nSee docs/ktctl.md for what each "
           "alert means and what to do.";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("all", &all_, "list acknowledged alerts too");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    if (args.size() == 2 && args[0] == "show") {
      ASSIGN_OR_RETURN(Alert * a, Find(*s, args[1]));
      return Output{JsonText(a->ToJson(), 2), a->ToJson()};
    }
    if (args.size() == 2 && args[0] == "ack") {
      ASSIGN_OR_RETURN(Alert * a, Find(*s, args[1]));
      if (a->acknowledged_at_ms == 0) {
        a->acknowledged_at_ms = RealClock::Get()->NowMillis();
      }
      return Output{absl::StrCat("acknowledged ", a->id.substr(0, 16), "  ",
                                 AlertTypeName(a->type)),
                    a->ToJson()};
    }
    if (!args.empty()) return UsageError("give nothing, show ID or ack ID");
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    size_t hidden = 0;
    for (const Alert& a : s->alerts) {
      if (a.acknowledged_at_ms != 0 && !all_) {
        ++hidden;
        continue;
      }
      j.push_back(a.ToJson());
      absl::StrAppend(
          &text, a.id.substr(0, 16), "  ", AlertTypeName(a.type), "  ",
          a.account.empty() ? "-" : a.account, "  ", a.message,
          a.acknowledged_at_ms != 0 ? "  (acknowledged)" : "", "\n");
    }
    if (text.empty()) text = "no alerts";
    if (hidden > 0) {
      absl::StrAppend(&text, text.back() == '\n' ? "" : "\n", "(", hidden,
                      " acknowledged; --all lists them)");
    }
    return Output{text, j};
  }

 private:
  // The alert whose id starts with `prefix` (at least 8 hex digits).
  static absl::StatusOr<Alert*> Find(ClientState& s,
                                     const std::string& prefix) {
    if (prefix.size() < 8) {
      return UsageError("give at least the first 8 digits of the alert id");
    }
    Alert* found = nullptr;
    for (Alert& a : s.alerts) {
      if (a.id.compare(0, prefix.size(), prefix) != 0) continue;
      if (found != nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, " names more than one alert: give more of the id"));
      }
      found = &a;
    }
    if (found == nullptr) {
      return absl::NotFoundError(absl::StrCat("no alert ", prefix));
    }
    return found;
  }

  bool all_ = false;
};

class ContactCommand : public Command {
 public:
  const char* name() const override { return "contact"; }
  const char* summary() const override {
    return "add | verify | remove | list contacts";
  }
  const char* usage() const override {
    return "usage: ktctl contact add ACCOUNT      track a contact (their "
           "current key)\n"
           "       ktctl contact verify ACCOUNT   mark verified after "
           "comparing codes\n"
           "       ktctl contact remove ACCOUNT\n"
           "       ktctl contact list\n\n"
           "Contacts are checked by `ktctl monitor`: a key change, or a "
           "device not\nsigned by the key you verified, raises an alert.";
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    if (args.size() == 1 && args[0] == "list") return List(*s);
    if (args.size() != 2) return UsageError("give a subcommand and ACCOUNT");
    const std::string& account = args[1];
    if (args[0] == "remove") {
      if (s->contacts.erase(account) == 0) {
        return absl::NotFoundError(absl::StrCat(account, " is not a contact"));
      }
      return Output{absl::StrCat("removed contact ", account),
                    {{"removed", account}}};
    }
    if (args[0] != "add" && args[0] != "verify") {
      return UsageError(absl::StrCat("unknown subcommand ", args[0]));
    }
    LogCheckpoint cp;
    std::string key;
    if (args[0] == "verify") {
      ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
      ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
      ASSIGN_OR_RETURN(ContactCode code,
                       CodeWithContact(*v, *own, s->account_id, account));
      key = code.their_key;
      RETURN_IF_ERROR(v->VerifyContact(code.checkpoint, account, key).status());
    } else {
      ASSIGN_OR_RETURN(cp, ctx.RefreshCheckpoint());
      ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
      ASSIGN_OR_RETURN(VerifiedAccount a, v->AddContact(cp, account));
      key = a.state->account_key;
    }
    size_t devices = s->contacts[account].seen_devices.size();
    return Output{
        absl::StrCat(args[0] == "add" ? "tracking " : "verified ", account,
                     ": ", AuthorityText(key), ", ", devices, " device(s)"),
        {{"account_id", account},
         {"account_key", HexEncode(key)},
         {"verified", args[0] == "verify"}}};
  }

 private:
  Output List(const ClientState& s) const {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& [id, c] : s.contacts) {
      bool verified = !c.verified_key.empty();
      const std::string& key = verified ? c.verified_key : c.seen_key;
      j.push_back({{"account_id", id},
                   {"verified", verified},
                   {"key", HexEncode(key)},
                   {"devices", c.seen_devices.size()}});
      absl::StrAppend(&text, id, verified ? "  verified  " : "  unverified  ",
                      AuthorityText(key), "  ", c.seen_devices.size(),
                      " device(s)\n");
    }
    return Output{text.empty() ? "no contacts" : text, j};
  }
};

// The account key this client holds: what the owner's side of a safety
// code is computed over. Not the key the log shows: after someone else
// rotated the account's key (a takeover), the two sides' codes must differ.
absl::StatusOr<std::string> OwnKey(Context& ctx) {
  ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
  return own->AccountKey();
}

class CodeCommand : public Command {
 public:
  const char* name() const override { return "code"; }
  const char* summary() const override {
    return "show | compare | public | compute safety codes (and QR)";
  }
  const char* usage() const override {
    return "usage: ktctl code show ACCOUNT [--qr] [--invert] "
           "[--out=FILE.svg|.png]\n"
           "       ktctl code compare ACCOUNT CODE\n"
           "       ktctl code public\n"
           "       ktctl code compute --key1=HEX --id1=ID --key2=HEX "
           "--id2=ID\n\n"
           "show: the safety code between you and ACCOUNT (60 digits, the "
           "same on\nboth sides), over both account keys as verified in the "
           "log; --qr draws\nit for scanning. compare: checks the code the "
           "other person shows you\n(typed digits, or their scanned "
           "ktlog-code:...) in constant time; if it\nmatches, ACCOUNT "
           "becomes a verified contact. public: your own 30-digit\ncode to "
           "publish. compute: the algorithm on explicit keys and ids.";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("qr", &qr_, "draw the QR code in the terminal");
    f->Bool("invert", &invert_, "invert the terminal QR (light-on-dark)");
    f->String("out", &out_, "also write the QR code to an .svg or .png file");
    f->String("key1", &key1_, "compute: first key (hex)");
    f->String("id1", &id1_, "compute: first id");
    f->String("key2", &key2_, "compute: second key (hex)");
    f->String("id2", &id2_, "compute: second id");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (args.size() == 1 && args[0] == "compute") return Compute();
    if (args.size() == 1 && args[0] == "public") return Public(ctx);
    if (args.size() == 2 && args[0] == "show") return Show(ctx, args[1]);
    if (args.size() == 3 && args[0] == "compare") {
      return Compare(ctx, args[1], args[2]);
    }
    return UsageError("give show, compare, public or compute");
  }

 private:
  absl::StatusOr<Output> Compute() const {
    absl::StatusOr<std::string> k1 = HexDecode(key1_), k2 = HexDecode(key2_);
    if (!k1.ok() || !k2.ok() || k1->empty() || k2->empty() || id1_.empty() ||
        id2_.empty()) {
      return UsageError("--key1/--key2 (hex) and --id1/--id2 are required");
    }
    SafetyCode code = SafetyCode::Compute(*k1, id1_, *k2, id2_);
    return Output{
        GroupDigits(code.Digits()) + "\n" + code.ScannableText(),
        {{"code", code.Digits()}, {"scannable", code.ScannableText()}}};
  }

  absl::StatusOr<Output> Public(Context& ctx) const {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    ASSIGN_OR_RETURN(std::string own, OwnKey(ctx));
    std::string code = PublicCode(own, s->account_id);
    return Output{absl::StrCat("your public verification code (", s->account_id,
                               "):\n", code),
                  {{"account_id", s->account_id}, {"code", code}}};
  }

  // The safety code with `account` (verifier/contact_code.h).
  static absl::StatusOr<ContactCode> CodeWith(Context& ctx,
                                              const std::string& account) {
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
    ASSIGN_OR_RETURN(OwnAccount * own, ctx.own());
    return CodeWithContact(*v, *own, s->account_id, account);
  }

  absl::StatusOr<Output> Show(Context& ctx, const std::string& account) const {
    ASSIGN_OR_RETURN(ContactCode with, CodeWith(ctx, account));
    const SafetyCode& code = with.code;
    const std::string& key = with.their_key;
    std::string text = absl::StrCat(
        "safety code with ", account, ":\n\n", GroupDigits(code.Digits()),
        "\n\nto send or scan: ", code.ScannableText(), "\n");
    if (qr_) {
      ASSIGN_OR_RETURN(std::string art,
                       QrTerminal(code.ScannableText(), invert_));
      absl::StrAppend(&text, "\n", art);
    }
    if (!out_.empty()) {
      RETURN_IF_ERROR(WriteQrFile(code.ScannableText(), out_));
      absl::StrAppend(&text, "\nQR code written to ", out_, "\n");
    }
    absl::StrAppend(&text, "\nCompare it with what ", account,
                    "'s phone shows, then run `ktctl code compare ", account,
                    " <their code>` or `ktctl contact verify ", account, "`.");
    return Output{text,
                  {{"account_id", account},
                   {"code", code.Digits()},
                   {"scannable", code.ScannableText()},
                   {"their_key", HexEncode(key)}}};
  }

  absl::StatusOr<Output> Compare(Context& ctx, const std::string& account,
                                 const std::string& shown) const {
    ASSIGN_OR_RETURN(ContactCode with, CodeWith(ctx, account));
    ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
    ASSIGN_OR_RETURN(bool match, CompareWithContact(*v, with, account, shown));
    const std::string& key = with.their_key;
    if (!match) {
      return Output{
          absl::StrCat("codes DIFFER: ", account,
                       " is NOT verified. Someone may be between you; do not "
                       "trust this account's devices."),
          {{"account_id", account}, {"match", false}},
          kExitFailed};
    }
    return Output{
        absl::StrCat("codes match: ", account, " is now a verified contact (",
                     AuthorityText(key), ")"),
        {{"account_id", account},
         {"match", true},
         {"account_key", HexEncode(key)}}};
  }

  bool qr_ = false, invert_ = false;
  std::string out_, key1_, id1_, key2_, id2_;
};

class PolicyCommand : public Command {
 public:
  const char* name() const override { return "policy"; }
  const char* summary() const override {
    return "witnesses, quorum and freshness bounds";
  }
  const char* usage() const override {
    return "usage: ktctl policy [--witnesses=K1,K2] [--witness_quorum=N]\n"
           "                    [--max_checkpoint_age=D] "
           "[--max_future_skew=D]\n"
           "                    [--max_own_check_delay=D]\n\n"
           "Shows the checking policy, changing what is given: the "
           "witnesses\n(verifier keys of type 0x04, from their operators, "
           "each key once) of which\n--witness_quorum must have cosigned a "
           "checkpoint before it is\ntrusted, the checkpoint age and "
           "clock-skew bounds, and how long a log\nthat serves checkpoints "
           "may keep you from checking your own account\nbefore STALE_LOG.";
  }
  void AddFlags(FlagSet* f) override {
    f->String("witnesses", &witnesses_, "comma-separated witness keys");
    f->Uint64("witness_quorum", &quorum_, "cosignatures required");
    f->Duration("max_checkpoint_age", &max_age_, "STALE_LOG bound");
    f->Duration("max_future_skew", &max_skew_, "BAD_TIMESTAMP bound");
    f->Duration("max_own_check_delay", &max_own_delay_,
                "STALE_LOG bound for your own account");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("policy takes only flags");
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    ASSIGN_OR_RETURN(CheckingPolicy p, Changed(s->policy));
    SetPolicy(s, p);
    auto duration = [](int64_t ms) {
      return absl::FormatDuration(absl::Milliseconds(ms));
    };
    std::string text = absl::StrCat(
        "witness quorum: ", p.witness_quorum, " of ", p.witnesses.size(),
        "\nmax checkpoint age: ", duration(p.max_checkpoint_age_ms),
        "\nmax future skew: ", duration(p.max_future_skew_ms),
        "\nmax own check delay: ", duration(p.max_own_check_delay_ms));
    for (const std::string& w : p.witnesses) {
      absl::StrAppend(&text, "\nwitness ", w);
    }
    std::string warning = QuorumWarning(p.witness_quorum, p.witnesses.size());
    if (!warning.empty()) absl::StrAppend(&text, "\n", warning);
    return Output{text,
                  {{"witnesses", p.witnesses},
                   {"witness_quorum", p.witness_quorum},
                   {"max_checkpoint_age_ms", p.max_checkpoint_age_ms},
                   {"max_future_skew_ms", p.max_future_skew_ms},
                   {"max_own_check_delay_ms", p.max_own_check_delay_ms}}};
  }

 private:
  // `p` with the flags given applied.
  absl::StatusOr<CheckingPolicy> Changed(CheckingPolicy p) const {
    if (witnesses_ != "-") {
      p.witnesses.clear();
      for (absl::string_view k :
           absl::StrSplit(witnesses_, ',', absl::SkipEmpty())) {
        p.witnesses.push_back(std::string(k));
      }
    }
    if (quorum_ != UINT64_MAX) {
      if (quorum_ > p.witnesses.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--witness_quorum ", quorum_, " exceeds the ",
                         p.witnesses.size(), " witness(es)"));
      }
      p.witness_quorum = static_cast<uint32_t>(quorum_);
    }
    if (max_age_ != absl::InfiniteDuration()) {
      p.max_checkpoint_age_ms = absl::ToInt64Milliseconds(max_age_);
    }
    if (max_skew_ != absl::InfiniteDuration()) {
      p.max_future_skew_ms = absl::ToInt64Milliseconds(max_skew_);
    }
    if (max_own_delay_ != absl::InfiniteDuration()) {
      p.max_own_check_delay_ms = absl::ToInt64Milliseconds(max_own_delay_);
    }
    RETURN_IF_ERROR(CheckWitnessPolicy(p));
    return p;
  }

  std::string witnesses_ = "-";
  uint64_t quorum_ = UINT64_MAX;
  absl::Duration max_age_ = absl::InfiniteDuration();
  absl::Duration max_skew_ = absl::InfiniteDuration();
  absl::Duration max_own_delay_ = absl::InfiniteDuration();
};

}  // namespace

void AddTrustCommands(CommandTable* table) {
  table->push_back(std::make_unique<LookupCommand>());
  table->push_back(std::make_unique<HistoryCommand>());
  table->push_back(std::make_unique<ContactCommand>());
  table->push_back(std::make_unique<CodeCommand>());
  table->push_back(std::make_unique<MonitorCommand>());
  table->push_back(std::make_unique<AlertsCommand>());
  table->push_back(std::make_unique<PolicyCommand>());
}

}  // namespace ktlog
