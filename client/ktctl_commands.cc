#include "client/ktctl_commands.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/file_util.h"
#include "core/merkle.h"
#include "core/proof.h"
#include "core/record.h"
#include "core/status_macros.h"
#include "verifier/lookup.h"

namespace ktlog {
namespace {

std::string AccountKeyPath(const Context& ctx) {
  return ctx.globals().state_dir + "/account.key";
}
std::string DeviceKeyPath(const Context& ctx) {
  return ctx.globals().state_dir + "/device.key";
}

nlohmann::json CheckpointJson(const LogCheckpoint& cp) {
  return {{"origin", cp.origin},
          {"size", cp.size},
          {"root", cp.root.ToHex()},
          {"timestamp_ms", cp.timestamp_ms}};
}

std::string CheckpointText(const LogCheckpoint& cp) {
  return absl::StrCat("checkpoint of ", cp.origin, ": size ", cp.size,
                      ", root ", cp.root.ToHex(), ", signed at ",
                      cp.timestamp_ms, " ms (verified)");
}

nlohmann::json RecordJson(const DeviceRecord& r) {
  return {{"operation", std::string(OperationName(r.operation))},
          {"account_id", r.account_id},
          {"device_id", r.device_id},
          {"key", HexEncode(r.key)},
          {"account_version", r.account_version},
          {"timestamp_ms", r.timestamp_ms},
          {"account_key", HexEncode(r.account_key)}};
}

std::string RecordText(const DeviceRecord& r) {
  return absl::StrCat(OperationName(r.operation), " account=", r.account_id,
                      r.device_id.empty() ? "" : " device=", r.device_id,
                      " version=", r.account_version,
                      " key=", HexEncode(r.key).substr(0, 16), "…");
}

// Signs `record` with the account key, appends it, waits for the checkpoint
// that covers it, checks that checkpoint against the trusted one and the
// record's inclusion proof, and records the new version.
absl::StatusOr<LogClient::WriteResult> AppendOwnRecord(Context& ctx,
                                                       DeviceRecord record) {
  ASSIGN_OR_RETURN(ClientState * s, ctx.state());
  ASSIGN_OR_RETURN(Ed25519PrivateKey account_key,
                   ReadPrivateKeyFile(AccountKeyPath(ctx)));
  record.account_id = s->account_id;
  record.account_version = s->account_version + 1;
  record.timestamp_ms = RealClock::Get()->NowMillis();
  record.Sign(account_key);
  std::string bytes = record.Encode();
  ASSIGN_OR_RETURN(LogClient::WriteResult w,
                   ctx.client()->Write(record.operation, bytes, true));
  ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
  if (cp.size <= w.leaf_index) {
    return absl::DataLossError(absl::StrCat(
        "the log acknowledged leaf index ", w.leaf_index,
        " but its latest checkpoint has only ", cp.size, " entries"));
  }
  ASSIGN_OR_RETURN(LogClient::InclusionProof proof,
                   ctx.client()->GetInclusionProof(w.leaf_index, cp.size));
  RETURN_IF_ERROR(VerifyInclusion(w.leaf_index, cp.size, HashLeaf(bytes),
                                  proof.hashes, cp.root));
  s->account_version = record.account_version;
  if (record.operation == Operation::kAddDevice) {
    s->approved_devices[record.device_id] = record.key;
  } else if (record.operation == Operation::kRemoveDevice) {
    s->approved_devices.erase(record.device_id);
  }
  RETURN_IF_ERROR(ctx.SaveState());
  return w;
}

int CmdInit(Context& ctx, const std::vector<std::string>& args) {
  std::string account, device, log_key;
  FlagSet flags(
      "usage: ktctl init --account=ID --device=NAME --log_key=VERIFIER_KEY\n\n"
      "Creates the state directory with a new account key and a key for this\n"
      "device, and pins the log's verifier key (from its operator).");
  flags.String("account", &account, "your account id, e.g. alice@example.com");
  flags.String("device", &device, "this device's name, e.g. phone");
  flags.String("log_key", &log_key, "the log's note verifier key");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (account.empty() || device.empty() || log_key.empty()) {
    std::cerr << "ktctl init: --account, --device and --log_key are required\n";
    return kExitUsage;
  }
  absl::StatusOr<NoteVerifierKey> key = NoteVerifierKey::Parse(log_key);
  if (!key.ok() || key->type != kNoteTypeEd25519) {
    return ctx.Fail(absl::InvalidArgumentError(
        absl::StrCat("--log_key is not a log verifier key: ",
                     key.ok() ? "wrong key type" : key.status().message())));
  }
  // Validate the ids with the record rules before creating anything.
  DeviceRecord probe;
  probe.account_id = account;
  probe.device_id = device;
  probe.key = std::string(32, 'k');
  probe.account_version = 1;
  probe.account_key = std::string(32, 'a');
  probe.signature = std::string(64, 's');
  absl::Status valid = probe.Validate();
  if (!valid.ok()) return ctx.Fail(valid);
  const std::string& dir = ctx.globals().state_dir;
  if (LoadClientState(dir).status().code() != absl::StatusCode::kNotFound) {
    return ctx.Fail(absl::AlreadyExistsError(absl::StrCat(
        dir, " already holds a ktctl state; use another --state directory")));
  }
  absl::Status s = MakeDirs(dir, 0700);
  if (s.ok()) chmod(dir.c_str(), 0700);
  Ed25519PrivateKey account_key = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey device_key = Ed25519PrivateKey::Generate();
  if (s.ok()) s = WritePrivateKeyFile(AccountKeyPath(ctx), account_key);
  if (s.ok()) s = WritePrivateKeyFile(DeviceKeyPath(ctx), device_key);
  ClientState state;
  state.log_verifier_key = log_key;
  state.account_id = account;
  state.device_id = device;
  if (s.ok()) s = SaveClientState(dir, state);
  if (!s.ok()) return ctx.Fail(s);
  ctx.Print(absl::StrCat("initialised account ", account, " with device ",
                         device, " in ", dir, "\nnext: ktctl register"),
            {{"account_id", account},
             {"device_id", device},
             {"state", dir},
             {"account_key", HexEncode(account_key.public_key().bytes())},
             {"device_key", HexEncode(device_key.public_key().bytes())}});
  return kExitOk;
}

int CmdRegister(Context& ctx, const std::vector<std::string>& args) {
  FlagSet flags(
      "usage: ktctl register\n\n"
      "Publishes this device's key in the log (the first record creates the\n"
      "account and its key), then verifies the checkpoint and inclusion "
      "proof.");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  absl::StatusOr<Ed25519PrivateKey> device_key =
      ReadPrivateKeyFile(DeviceKeyPath(ctx));
  if (!device_key.ok()) return ctx.Fail(device_key.status());
  DeviceRecord r;
  r.operation = Operation::kAddDevice;
  r.device_id = (*s)->device_id;
  r.key = device_key->public_key().bytes();
  absl::StatusOr<LogClient::WriteResult> w = AppendOwnRecord(ctx, r);
  if (!w.ok()) return ctx.Fail(w.status());
  ctx.Print(
      absl::StrCat("registered device ", r.device_id, " of ", (*s)->account_id,
                   " at leaf index ", w->leaf_index, " (inclusion verified)"),
      {{"device_id", r.device_id},
       {"leaf_index", w->leaf_index},
       {"account_version", (*s)->account_version}});
  return kExitOk;
}

int CmdDevice(Context& ctx, const std::vector<std::string>& args) {
  std::string key_hex;
  FlagSet flags(
      "usage: ktctl device add NAME [--key=HEX]\n"
      "       ktctl device remove NAME\n"
      "       ktctl device list\n\n"
      "Approves and publishes another of your devices (its public key, or a\n"
      "new key written to <state>/devices/NAME.key), removes one, or lists\n"
      "the devices you approved.");
  flags.String("key", &key_hex, "the device's public key in hex");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.empty()) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<ClientState*> s = ctx.state();
  if (!s.ok()) return ctx.Fail(s.status());
  if (pos[0] == "list" && pos.size() == 1) {
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (const auto& [id, key] : (*s)->approved_devices) {
      j.push_back({{"device_id", id}, {"key", HexEncode(key)}});
      absl::StrAppend(&text, id, "  ", HexEncode(key), "\n");
    }
    ctx.Print(text.empty() ? "no approved devices" : text, j);
    return kExitOk;
  }
  if (pos.size() != 2 || (pos[0] != "add" && pos[0] != "remove")) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  DeviceRecord r;
  r.device_id = pos[1];
  std::string key_note;
  if (pos[0] == "add") {
    r.operation = Operation::kAddDevice;
    if (!key_hex.empty()) {
      absl::StatusOr<std::string> key = HexDecode(key_hex);
      if (!key.ok()) return ctx.Fail(key.status());
      r.key = *key;
    } else {
      Ed25519PrivateKey k = Ed25519PrivateKey::Generate();
      std::string dir = ctx.globals().state_dir + "/devices";
      absl::Status m = MakeDirs(dir, 0700);
      std::string path = absl::StrCat(dir, "/", r.device_id, ".key");
      if (m.ok()) m = WritePrivateKeyFile(path, k);
      if (!m.ok()) return ctx.Fail(m);
      r.key = k.public_key().bytes();
      key_note = absl::StrCat("; its private key is in ", path);
    }
  } else {
    r.operation = Operation::kRemoveDevice;
    auto it = (*s)->approved_devices.find(r.device_id);
    if (it == (*s)->approved_devices.end()) {
      return ctx.Fail(absl::NotFoundError(absl::StrCat(
          "device \"", r.device_id, "\" is not one of your approved devices")));
    }
    r.key = it->second;
  }
  absl::StatusOr<LogClient::WriteResult> w = AppendOwnRecord(ctx, r);
  if (!w.ok()) return ctx.Fail(w.status());
  ctx.Print(absl::StrCat(pos[0] == "add" ? "added" : "removed", " device ",
                         r.device_id, " at leaf index ", w->leaf_index,
                         " (inclusion verified)", key_note),
            {{"operation", std::string(OperationName(r.operation))},
             {"device_id", r.device_id},
             {"key", HexEncode(r.key)},
             {"leaf_index", w->leaf_index}});
  return kExitOk;
}

int CmdCheckpoint(Context& ctx, const std::vector<std::string>& args) {
  bool raw = false;
  FlagSet flags(
      "usage: ktctl checkpoint [--raw]\n\n"
      "Fetches the latest checkpoint, verifies its signature and its\n"
      "consistency with the checkpoint trusted before, and trusts it.");
  flags.Bool("raw", &raw, "print the signed note as received");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<LogCheckpoint> cp = ctx.RefreshCheckpoint();
  if (!cp.ok()) return ctx.Fail(cp.status());
  absl::StatusOr<ClientState*> s = ctx.state();
  nlohmann::json j = CheckpointJson(*cp);
  j["note"] = (*s)->trusted_checkpoint;
  ctx.Print(raw ? (*s)->trusted_checkpoint : CheckpointText(*cp), j);
  return kExitOk;
}

int CmdProof(Context& ctx, const std::vector<std::string>& args) {
  uint64_t index = UINT64_MAX, from = 0;
  std::string hash_hex, from_root_hex;
  FlagSet flags(
      "usage: ktctl proof inclusion (--index=N | --hash=LEAF_HASH_HEX)\n"
      "       ktctl proof consistency --from=SIZE --from_root=ROOT_HEX\n\n"
      "Fetches an RFC 9162 proof against the latest verified checkpoint,\n"
      "verifies it and prints it.");
  flags.Uint64("index", &index, "leaf index");
  flags.String("hash", &hash_hex, "leaf hash (hex)");
  flags.Uint64("from", &from, "older tree size for a consistency proof");
  flags.String(
      "from_root", &from_root_hex,
      "root hash (hex) of the older tree, e.g. from a saved checkpoint");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  if (pos.size() != 1 || (pos[0] != "inclusion" && pos[0] != "consistency")) {
    std::cerr << flags.Help();
    return kExitUsage;
  }
  absl::StatusOr<LogCheckpoint> cp = ctx.RefreshCheckpoint();
  if (!cp.ok()) return ctx.Fail(cp.status());
  nlohmann::json j = {{"checkpoint", CheckpointJson(*cp)}};
  std::vector<Hash> hashes;
  std::string text;
  if (pos[0] == "inclusion") {
    absl::StatusOr<LogClient::InclusionProof> proof;
    if (!hash_hex.empty()) {
      absl::StatusOr<Hash> h = Hash::FromHex(hash_hex);
      if (!h.ok()) return ctx.Fail(h.status());
      proof = ctx.client()->GetInclusionProofByHash(*h, cp->size);
    } else if (index != UINT64_MAX) {
      proof = ctx.client()->GetInclusionProof(index, cp->size);
    } else {
      std::cerr << "ktctl proof inclusion: give --index or --hash\n";
      return kExitUsage;
    }
    if (!proof.ok()) return ctx.Fail(proof.status());
    absl::StatusOr<std::vector<std::string>> entry =
        ctx.client()->GetEntries(proof->leaf_index, proof->leaf_index + 1);
    if (!entry.ok()) return ctx.Fail(entry.status());
    if (entry->size() != 1) {
      return ctx.Fail(absl::DataLossError("the log did not return the entry"));
    }
    Hash leaf = HashLeaf(entry->front());
    absl::Status v = VerifyInclusion(proof->leaf_index, cp->size, leaf,
                                     proof->hashes, cp->root);
    if (!v.ok()) return ctx.Fail(v);
    hashes = proof->hashes;
    j["leaf_index"] = proof->leaf_index;
    j["leaf_hash"] = leaf.ToHex();
    text = absl::StrCat("leaf ", proof->leaf_index, " (", leaf.ToHex(),
                        ") is included in the tree of size ", cp->size,
                        " (verified)");
  } else {
    if (from == 0 || from > cp->size) {
      return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
          "--from must be between 1 and the checkpoint size ", cp->size)));
    }
    absl::StatusOr<Hash> from_root = Hash::FromHex(from_root_hex);
    if (!from_root.ok()) {
      std::cerr << "ktctl proof consistency: --from_root must be the older "
                   "tree's root hash in hex\n";
      return kExitUsage;
    }
    absl::StatusOr<std::vector<Hash>> proof =
        ctx.client()->GetConsistencyProof(from, cp->size);
    if (!proof.ok()) return ctx.Fail(proof.status());
    absl::Status v =
        VerifyConsistency(from, cp->size, *proof, *from_root, cp->root);
    if (!v.ok()) return ctx.Fail(v);
    hashes = *proof;
    j["from"] = from;
    j["from_root"] = from_root->ToHex();
    text = absl::StrCat("the tree of size ", cp->size,
                        " extends the tree of size ", from, " with root ",
                        from_root->ToHex(), " (verified)");
  }
  nlohmann::json hj = nlohmann::json::array();
  for (const Hash& h : hashes) {
    hj.push_back(h.ToHex());
    absl::StrAppend(&text, "\n  ", h.ToHex());
  }
  j["hashes"] = hj;
  ctx.Print(text, j);
  return kExitOk;
}

int CmdEntries(Context& ctx, const std::vector<std::string>& args) {
  uint64_t begin = 0, end = 0;
  FlagSet flags(
      "usage: ktctl entries --begin=N --end=M\n\n"
      "Prints the records [N, M) of the log, decoded (at most 1000 per call).");
  flags.Uint64("begin", &begin, "first leaf index");
  flags.Uint64("end", &end, "one past the last leaf index");
  std::vector<std::string> pos;
  int exit;
  if (!ParseCommandFlags(ctx, flags, args, &pos, &exit)) return exit;
  absl::StatusOr<std::vector<std::string>> entries =
      ctx.client()->GetEntries(begin, end);
  if (!entries.ok()) return ctx.Fail(entries.status());
  nlohmann::json j = nlohmann::json::array();
  std::string text;
  for (size_t i = 0; i < entries->size(); ++i) {
    absl::StatusOr<DeviceRecord> r = DecodeRecord((*entries)[i]);
    if (!r.ok()) {
      return ctx.Fail(absl::DataLossError(
          absl::StrCat("entry ", begin + i,
                       " is not a valid record: ", r.status().message())));
    }
    nlohmann::json rj = RecordJson(*r);
    rj["leaf_index"] = begin + i;
    j.push_back(rj);
    absl::StrAppend(&text, begin + i, "  ", RecordText(*r), "\n");
  }
  ctx.Print(text, j);
  return kExitOk;
}

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
  absl::StatusOr<AccountLookupAnswer> answer =
      ctx.client()->LookupAccount(pos[0], cp->size);
  if (!answer.ok()) return ctx.Fail(answer.status());
  absl::StatusOr<VerifiedAccount> account =
      VerifyAccountLookup(*cp, pos[0], *answer);
  if (!account.ok()) return ctx.Fail(account.status());
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
  return kExitOk;
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

}  // namespace

const std::map<std::string, CommandFn>& Commands() {
  static const auto* commands = new std::map<std::string, CommandFn>{
      {"init", CmdInit},     {"register", CmdRegister},
      {"device", CmdDevice}, {"checkpoint", CmdCheckpoint},
      {"proof", CmdProof},   {"entries", CmdEntries},
      {"lookup", CmdLookup}, {"history", CmdHistory},
  };
  return *commands;
}

}  // namespace ktlog
