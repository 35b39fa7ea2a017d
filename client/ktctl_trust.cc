// ktctl commands about trust in accounts: lookup, history, monitor, alerts,
// contact, code.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/ktctl_commands.h"
#include "client/qr.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"
#include "verifier/codes.h"

namespace ktlog {
namespace {

int CmdLookup(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl lookup ACCOUNT\n\n"
      "Looks up ACCOUNT's complete device set at the latest checkpoint and\n"
      "verifies it: the index proof against the checkpoint's signed index\n"
      "root, every device record's inclusion proof and signature, and the\n"
      "chain of account keys. A missing account is proved absent (exit 1).");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.size() != 1) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<LogCheckpoint> cp = ctx.RefreshCheckpoint();
  if (!cp.ok()) return ctx.Fail(cp.status());
  absl::StatusOr<VerifiedAccount> account =
      (*ctx.verifier())->Lookup(*cp, pos[0]);
  absl::Status saved = ctx.SaveState();
  if (!account.ok()) return ctx.Fail(account.status());
  if (!saved.ok()) return ctx.Fail(saved);
  if (!account->state.has_value()) {
    return ctx.Fail(absl::NotFoundError(absl::StrCat(
        "account \"", pos[0],
        "\" does not exist (absence verified at tree size ", cp->size, ")")));
  }
  const AccountState& s = *account->state;
  nlohmann::json devices = nlohmann::json::array();
  std::string text =
      absl::StrCat(s.account_id, ": account key ", HexEncode(s.account_key),
                   ", version ", s.version, ", ", s.devices.size(),
                   " device(s), verified at tree size ", cp->size);
  for (const VerifiedDevice& d : account->devices) {
    devices.push_back({{"device_id", d.record.device_id},
                       {"key", HexEncode(d.record.key)},
                       {"leaf_index", d.leaf_index},
                       {"added_at_version", d.record.account_version}});
    absl::StrAppend(&text, "\n  ", d.record.device_id, "  ",
                    HexEncode(d.record.key), "  (leaf ", d.leaf_index, ")");
  }
  ctx.Print(text, {{"account_id", s.account_id},
                   {"account_key", HexEncode(s.account_key)},
                   {"version", s.version},
                   {"devices", devices},
                   {"tree_size", cp->size}});
  return ctx.Done();
}

int CmdHistory(Context& ctx, const std::vector<std::string>& args) {
  uint64_t from = 1;
  FlagSet flags(
      "usage: ktctl history ACCOUNT [--from=VERSION]\n\n"
      "Prints every record of ACCOUNT from a version on, each verified\n"
      "(inclusion proof) and replayed with the account rules.");
  flags.Uint64("from", &from, "first version to show");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.size() != 1 || from == 0) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<LogCheckpoint> cp = ctx.RefreshCheckpoint();
  if (!cp.ok()) return ctx.Fail(cp.status());
  // Replaying needs the state before `from`: start from version 1.
  AccountState state;
  nlohmann::json j = nlohmann::json::array();
  std::string text;
  for (uint64_t next = 1; next != 0;) {
    absl::StatusOr<AccountHistoryAnswer> page =
        ctx.client()->GetAccountHistory(pos[0], next, cp->size);
    if (!page.ok()) return ctx.Fail(page.status());
    absl::StatusOr<std::vector<VerifiedDevice>> records =
        VerifyAccountHistory(*cp, pos[0], page->records, &state);
    if (!records.ok()) return ctx.Fail(records.status());
    for (const VerifiedDevice& r : *records) {
      if (r.record.account_version < from) continue;
      nlohmann::json rj = RecordJson(r.record);
      rj["leaf_index"] = r.leaf_index;
      j.push_back(rj);
      absl::StrAppend(&text, r.leaf_index, "  ", RecordText(r.record), "\n");
    }
    next = page->next_version;
  }
  ctx.Print(text.empty() ? "no records" : text, j);
  return kExitOk;
}

// One monitoring pass; prints what was checked.
int MonitorPass(Context& ctx) {
  absl::StatusOr<ClientVerifier*> v = ctx.verifier();
  if (!v.ok()) return ctx.Fail(v.status());
  absl::Status s = (*v)->MonitorOnce();
  absl::Status saved = ctx.SaveState();
  if (!s.ok()) return ctx.Fail(s);
  if (!saved.ok()) return ctx.Fail(saved);
  ClientState* state = *ctx.state();
  absl::StatusOr<std::optional<LogCheckpoint>> cp = (*v)->Trusted();
  uint64_t size = cp.ok() && cp->has_value() ? (*cp)->size : 0;
  size_t alerts = (*v)->raised().size();
  ctx.Print(
      absl::StrCat("checked at tree size ", size, ": your account at version ",
                   state->own_state.version, " with ",
                   state->own_state.devices.size(), " device(s), ",
                   state->contacts.size(), " contact(s); ",
                   alerts == 0 ? "no new alerts"
                               : absl::StrCat(alerts, " new alert(s)")),
      {{"tree_size", size},
       {"own_version", state->own_state.version},
       {"contacts", state->contacts.size()},
       {"new_alerts", alerts}});
  return ctx.Done();
}

int CmdMonitor(Context& ctx, const std::vector<std::string>& args) {
  bool follow = false;
  absl::Duration interval = absl::Seconds(30);
  FlagSet flags(
      "usage: ktctl monitor [--follow] [--interval=30s]\n\n"
      "Fetches and checks the latest checkpoint, every record of your own\n"
      "account since the last check (a device you did not add raises\n"
      "UNEXPECTED_DEVICE, even if it was removed again), and every contact.\n"
      "Exit 3 if it raised an alert. --follow repeats forever.");
  flags.Bool("follow", &follow, "keep monitoring");
  flags.Duration("interval", &interval, "time between checks with --follow");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (!pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  if (!follow) return MonitorPass(ctx);
  for (;;) {
    MonitorPass(ctx);
    absl::SleepFor(interval);
  }
}

int CmdAlerts(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl alerts\n"
      "       ktctl alerts show ID\n\n"
      "Lists the alerts raised so far (kept in the state), or prints one with\n"
      "its evidence: the signed checkpoints and records that show what\n"
      "happened, to hand to someone else. See docs/ktctl.md for what each\n"
      "alert means and what to do.");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  if (pos.size() == 2 && pos[0] == "show") {
    for (const Alert& a : (*s)->alerts) {
      if (a.id == pos[1]) {
        ctx.Print(a.ToJson().dump(2), a.ToJson());
        return kExitOk;
      }
    }
    return ctx.Fail(absl::NotFoundError(absl::StrCat("no alert ", pos[1])));
  }
  if (!pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  nlohmann::json j = nlohmann::json::array();
  std::string text;
  for (const Alert& a : (*s)->alerts) {
    j.push_back(a.ToJson());
    absl::StrAppend(&text, a.id, "  ", AlertTypeName(a.type), "  ",
                    a.account.empty() ? "-" : a.account, "  ", a.message, "\n");
  }
  ctx.Print(text.empty() ? "no alerts" : text, j);
  return kExitOk;
}

// The verified account key of `account` at the latest checkpoint.
absl::StatusOr<std::string> VerifiedKeyOf(Context& ctx,
                                          const std::string& account) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
  ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
  absl::StatusOr<VerifiedAccount> a = v->Lookup(cp, account);
  RETURN_IF_ERROR(ctx.SaveState());
  RETURN_IF_ERROR(a.status());
  if (!a->state.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "account \"", account, "\" does not exist (absence verified)"));
  }
  return a->state->account_key;
}

// Starts tracking `account` (if new) and returns its verified key.
absl::StatusOr<std::string> TrackContact(Context& ctx,
                                         const std::string& account) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
  ASSIGN_OR_RETURN(ClientVerifier * v, ctx.verifier());
  absl::StatusOr<VerifiedAccount> a = v->AddContact(cp, account);
  RETURN_IF_ERROR(ctx.SaveState());
  RETURN_IF_ERROR(a.status());
  return a->state->account_key;
}

absl::StatusOr<std::string> OwnKey(Context& ctx) {
  ASSIGN_OR_RETURN(ClientState * s, ctx.state());
  if (s->own_state.exists()) return s->own_state.account_key;
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, ctx.AccountKey());
  return key.public_key().bytes();
}

// Pins `key` as the verified key of contact `account`.
absl::Status PinVerified(Context& ctx, const std::string& account,
                         const std::string& key) {
  ASSIGN_OR_RETURN(ClientState * s, ctx.state());
  ContactState& c = s->contacts[account];
  c.verified_key = key;
  if (c.seen_key.empty()) c.seen_key = key;
  return ctx.SaveState();
}

int CmdContact(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl contact add ACCOUNT      track a contact (their current "
      "key)\n"
      "       ktctl contact verify ACCOUNT   mark verified after comparing "
      "codes\n"
      "       ktctl contact remove ACCOUNT\n"
      "       ktctl contact list\n\n"
      "Contacts are checked by `ktctl monitor`: a key change, or a device not\n"
      "signed by the key you verified, raises an alert.");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  if (pos.size() == 1 && pos[0] == "list") {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& [id, c] : (*s)->contacts) {
      bool verified = !c.verified_key.empty();
      j.push_back({{"account_id", id},
                   {"verified", verified},
                   {"key", HexEncode(verified ? c.verified_key : c.seen_key)},
                   {"devices", c.seen_devices.size()}});
      absl::StrAppend(&text, id, verified ? "  verified  " : "  unverified  ",
                      HexEncode(verified ? c.verified_key : c.seen_key), "  ",
                      c.seen_devices.size(), " device(s)\n");
    }
    ctx.Print(text.empty() ? "no contacts" : text, j);
    return kExitOk;
  }
  if (pos.size() != 2) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  const std::string& account = pos[1];
  if (pos[0] == "remove") {
    if ((*s)->contacts.erase(account) == 0) {
      return ctx.Fail(
          absl::NotFoundError(absl::StrCat(account, " is not a contact")));
    }
    absl::Status saved = ctx.SaveState();
    if (!saved.ok()) return ctx.Fail(saved);
    ctx.Print(absl::StrCat("removed contact ", account),
              {{"removed", account}});
    return kExitOk;
  }
  if (pos[0] != "add" && pos[0] != "verify") {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<std::string> key = TrackContact(ctx, account);
  if (!key.ok()) return ctx.Fail(key.status());
  if (pos[0] == "verify") {
    absl::Status pinned = PinVerified(ctx, account, *key);
    if (!pinned.ok()) return ctx.Fail(pinned);
  }
  size_t devices = (*s)->contacts[account].seen_devices.size();
  ctx.Print(absl::StrCat(pos[0] == "add" ? "tracking " : "verified ", account,
                         ": account key ", HexEncode(*key), ", ", devices,
                         " device(s)"),
            {{"account_id", account},
             {"account_key", HexEncode(*key)},
             {"verified", pos[0] == "verify"}});
  return ctx.Done();
}

int CmdCode(Context& ctx, const std::vector<std::string>& args) {
  bool qr = false, invert = false;
  std::string out, key1, id1, key2, id2;
  FlagSet flags(
      "usage: ktctl code show ACCOUNT [--qr] [--invert] [--out=FILE.svg|.png]\n"
      "       ktctl code compare ACCOUNT CODE\n"
      "       ktctl code public\n"
      "       ktctl code compute --key1=HEX --id1=ID --key2=HEX --id2=ID\n\n"
      "show: the safety code between you and ACCOUNT (60 digits, the same on\n"
      "both sides), over both account keys as verified in the log; --qr draws\n"
      "it for scanning. compare: checks the code the other person shows you\n"
      "(typed digits, or their scanned ktlog-code:...) in constant time; if "
      "it\n"
      "matches, ACCOUNT becomes a verified contact. public: your own 30-digit\n"
      "code to publish. compute: the algorithm on explicit keys and ids.");
  flags.Bool("qr", &qr, "draw the QR code in the terminal");
  flags.Bool("invert", &invert, "invert the terminal QR (light-on-dark)");
  flags.String("out", &out, "also write the QR code to an .svg or .png file");
  flags.String("key1", &key1, "compute: first key (hex)");
  flags.String("id1", &id1, "compute: first id");
  flags.String("key2", &key2, "compute: second key (hex)");
  flags.String("id2", &id2, "compute: second id");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  if (pos[0] == "compute" && pos.size() == 1) {
    absl::StatusOr<std::string> k1 = HexDecode(key1), k2 = HexDecode(key2);
    if (!k1.ok() || !k2.ok() || k1->empty() || k2->empty() || id1.empty() ||
        id2.empty()) {
      std::cerr
          << "ktctl code compute: --key1/--key2 (hex) and --id1/--id2 are "
             "required\n";
      return kExitUsage;
    }
    SafetyCode code = SafetyCode::Compute(*k1, id1, *k2, id2);
    ctx.Print(GroupDigits(code.Digits()) + "\n" + code.ScannableText(),
              {{"code", code.Digits()}, {"scannable", code.ScannableText()}});
    return kExitOk;
  }
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  absl::StatusOr<std::string> own = OwnKey(ctx);
  if (!own.ok()) return ctx.Fail(own.status());
  if (pos[0] == "public" && pos.size() == 1) {
    std::string code = PublicCode(*own, (*s)->account_id);
    ctx.Print(absl::StrCat("your public verification code (", (*s)->account_id,
                           "):\n", code),
              {{"account_id", (*s)->account_id}, {"code", code}});
    return kExitOk;
  }
  bool show = pos[0] == "show" && pos.size() == 2;
  bool compare = pos[0] == "compare" && pos.size() == 3;
  if (!show && !compare) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  const std::string& account = pos[1];
  absl::StatusOr<std::string> theirs =
      show ? VerifiedKeyOf(ctx, account) : TrackContact(ctx, account);
  if (!theirs.ok()) return ctx.Fail(theirs.status());
  SafetyCode code =
      SafetyCode::Compute(*own, (*s)->account_id, *theirs, account);
  if (show) {
    std::string text = absl::StrCat("safety code with ", account, ":\n\n",
                                    GroupDigits(code.Digits()), "\n");
    if (qr) {
      absl::StatusOr<std::string> art =
          QrTerminal(code.ScannableText(), invert);
      if (!art.ok()) return ctx.Fail(art.status());
      absl::StrAppend(&text, "\n", *art);
    }
    if (!out.empty()) {
      absl::Status w = WriteQrFile(code.ScannableText(), out);
      if (!w.ok()) return ctx.Fail(w);
      absl::StrAppend(&text, "\nQR code written to ", out, "\n");
    }
    absl::StrAppend(&text, "\nCompare it with what ", account,
                    "'s phone shows, then run `ktctl code compare ", account,
                    " <their code>` or `ktctl contact verify ", account, "`.");
    ctx.Print(text, {{"account_id", account},
                     {"code", code.Digits()},
                     {"scannable", code.ScannableText()},
                     {"their_key", HexEncode(*theirs)}});
    return ctx.Done();
  }
  absl::StatusOr<bool> match = code.Matches(pos[2]);
  if (!match.ok()) return ctx.Fail(match.status());
  if (!*match) {
    ctx.Print(absl::StrCat("codes DIFFER: ", account,
                           " is NOT verified. Someone may be between you; do "
                           "not trust this account's devices."),
              {{"account_id", account}, {"match", false}});
    return kExitFailed;
  }
  absl::Status pinned = PinVerified(ctx, account, *theirs);
  if (!pinned.ok()) return ctx.Fail(pinned);
  ctx.Print(
      absl::StrCat("codes match: ", account, " is now a verified contact (key ",
                   HexEncode(*theirs), ")"),
      {{"account_id", account},
       {"match", true},
       {"account_key", HexEncode(*theirs)}});
  return ctx.Done();
}

int CmdPolicy(Context& ctx, const std::vector<std::string>& args) {
  std::string witnesses = "-";
  uint64_t quorum = UINT64_MAX;
  absl::Duration max_age = absl::InfiniteDuration(),
                 max_skew = absl::InfiniteDuration();
  FlagSet flags(
      "usage: ktctl policy [--witnesses=K1,K2] [--witness_quorum=N]\n"
      "                    [--max_checkpoint_age=D] [--max_future_skew=D]\n\n"
      "Shows the checking policy, changing what is given: the witnesses\n"
      "(verifier keys of type 0x04, from their operators) of which\n"
      "--witness_quorum must have cosigned a checkpoint before it is\n"
      "trusted, and the checkpoint age and clock-skew bounds.");
  flags.String("witnesses", &witnesses, "comma-separated witness keys");
  flags.Uint64("witness_quorum", &quorum, "cosignatures required");
  flags.Duration("max_checkpoint_age", &max_age, "STALE_LOG bound");
  flags.Duration("max_future_skew", &max_skew, "BAD_TIMESTAMP bound");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (!pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  CheckingPolicy p = (*s)->policy;
  if (witnesses != "-") {
    std::vector<std::string> keys;
    for (absl::string_view k :
         absl::StrSplit(witnesses, ',', absl::SkipEmpty())) {
      absl::StatusOr<NoteVerifierKey> w = NoteVerifierKey::Parse(k);
      if (!w.ok() || w->type != kNoteTypeCosignatureV1) {
        return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
            "\"", k, "\" is not a witness verifier key (type 0x04)")));
      }
      keys.push_back(std::string(k));
    }
    p.witnesses = keys;
  }
  if (quorum != UINT64_MAX) p.witness_quorum = static_cast<uint32_t>(quorum);
  if (max_age != absl::InfiniteDuration()) {
    p.max_checkpoint_age_ms = absl::ToInt64Milliseconds(max_age);
  }
  if (max_skew != absl::InfiniteDuration()) {
    p.max_future_skew_ms = absl::ToInt64Milliseconds(max_skew);
  }
  if (p.witness_quorum > p.witnesses.size()) {
    return ctx.Fail(absl::InvalidArgumentError(
        absl::StrCat("--witness_quorum ", p.witness_quorum, " exceeds the ",
                     p.witnesses.size(), " configured witnesses")));
  }
  SetPolicy(*s, p);
  absl::Status saved = ctx.SaveState();
  if (!saved.ok()) return ctx.Fail(saved);
  std::string text = absl::StrCat(
      "witness quorum: ", p.witness_quorum, " of ", p.witnesses.size(),
      "\nmax checkpoint age: ", p.max_checkpoint_age_ms / 1000,
      " s\nmax future skew: ", p.max_future_skew_ms / 1000, " s");
  for (const std::string& w : p.witnesses)
    absl::StrAppend(&text, "\nwitness ", w);
  ctx.Print(text, {{"witnesses", p.witnesses},
                   {"witness_quorum", p.witness_quorum},
                   {"max_checkpoint_age_ms", p.max_checkpoint_age_ms},
                   {"max_future_skew_ms", p.max_future_skew_ms}});
  return kExitOk;
}

}  // namespace

void RegisterTrustCommands(std::map<std::string, CommandFn>* commands) {
  (*commands)["lookup"] = CmdLookup;
  (*commands)["history"] = CmdHistory;
  (*commands)["monitor"] = CmdMonitor;
  (*commands)["alerts"] = CmdAlerts;
  (*commands)["contact"] = CmdContact;
  (*commands)["code"] = CmdCode;
  (*commands)["policy"] = CmdPolicy;
}

}  // namespace ktlog
