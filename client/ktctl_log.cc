// ktctl commands that print what the log serves, verified: checkpoint,
// proof, entries.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "client/ktctl_commands.h"
#include "core/account/record.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

std::string CheckpointText(const LogCheckpoint& cp) {
  return absl::StrCat("checkpoint of ", cp.origin, ": size ", cp.size,
                      ", root ", cp.root.ToHex(), ", index root ",
                      cp.index_root.ToHex(), ", signed at ", cp.timestamp_ms,
                      " ms (verified)");
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
    absl::StatusOr<InclusionAnswer> proof;
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
}  // namespace

void RegisterLogCommands(std::map<std::string, CommandFn>* commands) {
  (*commands)["checkpoint"] = CmdCheckpoint;
  (*commands)["proof"] = CmdProof;
  (*commands)["entries"] = CmdEntries;
}

}  // namespace ktlog
