// ktctl commands that print what the log serves, verified: checkpoint,
// proof, entries.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/ktctl_framework.h"
#include "core/account/leaf.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

class CheckpointCommand : public Command {
 public:
  const char* name() const override { return "checkpoint"; }
  const char* summary() const override {
    return "fetch, verify and print the latest checkpoint";
  }
  const char* usage() const override {
    return "usage: ktctl checkpoint [--raw]\n\n"
           "Fetches the latest checkpoint, verifies its signature and its\n"
           "consistency with the checkpoint trusted before, and trusts it.";
  }
  void AddFlags(FlagSet* f) override {
    f->Bool("raw", &raw_, "print the signed note as received");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("checkpoint takes no arguments");
    ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
    ASSIGN_OR_RETURN(ClientState * s, ctx.state());
    nlohmann::json j = CheckpointJson(cp);
    j["note"] = s->trusted_checkpoint;
    std::string text =
        absl::StrCat("checkpoint of ", cp.origin, ": size ", cp.size, ", root ",
                     cp.root.ToHex(), ", index root ", cp.index_root.ToHex(),
                     ", signed at ", TimeText(cp.timestamp_ms), " (verified)");
    return Output{raw_ ? s->trusted_checkpoint : text, j};
  }

 private:
  bool raw_ = false;
};

class ProofCommand : public Command {
 public:
  const char* name() const override { return "proof"; }
  const char* summary() const override {
    return "inclusion | consistency: fetch, verify and print a proof";
  }
  const char* usage() const override {
    return "usage: ktctl proof inclusion (--index=N | --hash=LEAF_HASH_HEX)\n"
           "       ktctl proof consistency --from=SIZE --from_root=ROOT_HEX\n\n"
           "Fetches an RFC 9162 proof against the latest verified "
           "checkpoint,\nverifies it and prints it.";
  }
  void AddFlags(FlagSet* f) override {
    f->Uint64("index", &index_, "leaf index");
    f->String("hash", &hash_hex_, "leaf hash (hex)");
    f->Uint64("from", &from_, "older tree size for a consistency proof");
    f->String("from_root", &from_root_hex_,
              "root hash (hex) of the older tree, e.g. from a saved "
              "checkpoint");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (args.size() != 1 ||
        (args[0] != "inclusion" && args[0] != "consistency")) {
      return UsageError("give inclusion or consistency");
    }
    ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
    Output out;
    std::vector<Hash> hashes;
    if (args[0] == "inclusion") {
      ASSIGN_OR_RETURN(out, Inclusion(ctx, cp, &hashes));
    } else {
      ASSIGN_OR_RETURN(out, Consistency(ctx, cp, &hashes));
    }
    out.json["checkpoint"] = CheckpointJson(cp);
    nlohmann::json hj = nlohmann::json::array();
    for (const Hash& h : hashes) {
      hj.push_back(h.ToHex());
      absl::StrAppend(&out.human, "\n  ", h.ToHex());
    }
    out.json["hashes"] = hj;
    return out;
  }

 private:
  absl::StatusOr<Output> Inclusion(Context& ctx, const LogCheckpoint& cp,
                                   std::vector<Hash>* hashes) const {
    absl::StatusOr<InclusionAnswer> proof;
    if (!hash_hex_.empty()) {
      ASSIGN_OR_RETURN(Hash h, Hash::FromHex(hash_hex_));
      ASSIGN_OR_RETURN(LogClient * client, ctx.client());
      proof = client->GetInclusionProofByHash(h, cp.size);
    } else if (index_ != UINT64_MAX) {
      ASSIGN_OR_RETURN(LogFeed * feed, ctx.feed());
      proof = feed->InclusionProof(index_, cp.size);
    } else {
      return UsageError("give --index or --hash");
    }
    RETURN_IF_ERROR(proof.status());
    ASSIGN_OR_RETURN(LogFeed * feed, ctx.feed());
    ASSIGN_OR_RETURN(
        std::vector<std::string> entry,
        feed->Entries(proof->leaf_index, proof->leaf_index + 1, cp.size));
    if (entry.size() != 1) {
      return absl::DataLossError("the log did not return the entry");
    }
    Hash leaf = HashLeaf(entry.front());
    RETURN_IF_ERROR(VerifyInclusion(proof->leaf_index, cp.size, leaf,
                                    proof->hashes, cp.root));
    *hashes = proof->hashes;
    return Output{
        absl::StrCat("leaf ", proof->leaf_index, " (", leaf.ToHex(),
                     ") is included in the tree of size ", cp.size,
                     " (verified)"),
        {{"leaf_index", proof->leaf_index}, {"leaf_hash", leaf.ToHex()}}};
  }

  absl::StatusOr<Output> Consistency(Context& ctx, const LogCheckpoint& cp,
                                     std::vector<Hash>* hashes) const {
    if (from_ == 0 || from_ > cp.size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--from must be between 1 and the checkpoint size ", cp.size));
    }
    absl::StatusOr<Hash> from_root = Hash::FromHex(from_root_hex_);
    if (!from_root.ok()) {
      return UsageError("--from_root must be the older tree's root in hex");
    }
    ASSIGN_OR_RETURN(LogFeed * feed, ctx.feed());
    ASSIGN_OR_RETURN(*hashes, feed->ConsistencyProof(from_, cp.size));
    RETURN_IF_ERROR(
        VerifyConsistency(from_, cp.size, *hashes, *from_root, cp.root));
    return Output{
        absl::StrCat("the tree of size ", cp.size, " extends the tree of size ",
                     from_, " with root ", from_root->ToHex(), " (verified)"),
        {{"from", from_}, {"from_root", from_root->ToHex()}}};
  }

  uint64_t index_ = UINT64_MAX, from_ = 0;
  std::string hash_hex_, from_root_hex_;
};

class EntriesCommand : public Command {
 public:
  const char* name() const override { return "entries"; }
  const char* summary() const override {
    return "print the log's public leaves in a range";
  }
  const char* usage() const override {
    return "usage: ktctl entries --begin=N --end=M\n\n"
           "Prints the public leaves [N, M) of the log (at most 1000 per "
           "call): each\naccount's position (the VRF output of its id), "
           "version, the log's\ntimestamp and the record and state "
           "commitments. Leaves name no account,\ndevice or key.";
  }
  void AddFlags(FlagSet* f) override {
    f->Uint64("begin", &begin_, "first leaf index");
    f->Uint64("end", &end_, "one past the last leaf index");
  }
  absl::StatusOr<Output> Run(Context& ctx,
                             const std::vector<std::string>& args) override {
    if (!args.empty()) return UsageError("entries takes only flags");
    ASSIGN_OR_RETURN(std::vector<std::string> entries, Fetch(ctx));
    nlohmann::json j = nlohmann::json::array();
    std::string text;
    for (size_t i = 0; i < entries.size(); ++i) {
      absl::StatusOr<Leaf> leaf = DecodeLeaf(entries[i]);
      if (!leaf.ok()) {
        return absl::DataLossError(
            absl::StrCat("entry ", begin_ + i,
                         " is not a valid leaf: ", leaf.status().message()));
      }
      j.push_back({{"leaf_index", begin_ + i},
                   {"leaf_hash", HashLeaf(entries[i]).ToHex()},
                   {"position", leaf->position.ToHex()},
                   {"version", leaf->version},
                   {"timestamp_ms", leaf->timestamp_ms},
                   {"record_commitment", leaf->record_commitment.ToHex()},
                   {"state_commitment", leaf->state_commitment.ToHex()}});
      absl::StrAppend(
          &text, begin_ + i,
          "  position=", leaf->position.ToHex().substr(0, 16),
          "… version=", leaf->version, " time=", TimeText(leaf->timestamp_ms),
          " record=", leaf->record_commitment.ToHex().substr(0, 16),
          "… state=", leaf->state_commitment.ToHex().substr(0, 16), "…\n");
    }
    return Output{text, j};
  }

 private:
  // The leaves asked for (from the tiles: within the trusted checkpoint).
  absl::StatusOr<std::vector<std::string>> Fetch(Context& ctx) {
    if (ctx.globals().tiles.empty()) {
      ASSIGN_OR_RETURN(LogClient * client, ctx.client());
      return client->GetEntries(begin_, end_);
    }
    ASSIGN_OR_RETURN(LogCheckpoint cp, ctx.RefreshCheckpoint());
    if (begin_ >= cp.size || end_ <= begin_) {
      return absl::OutOfRangeError(
          absl::StrCat("entries [", begin_, ", ", end_,
                       ") are not in the checkpoint's tree "
                       "of size ",
                       cp.size));
    }
    ASSIGN_OR_RETURN(LogFeed * feed, ctx.feed());
    std::vector<std::string> out;
    uint64_t end = std::min({end_, cp.size, begin_ + kMaxEntriesPerCall});
    while (begin_ + out.size() < end) {
      ASSIGN_OR_RETURN(std::vector<std::string> page,
                       feed->Entries(begin_ + out.size(), end, cp.size));
      if (page.empty()) break;
      out.insert(out.end(), page.begin(), page.end());
    }
    return out;
  }

  static constexpr uint64_t kMaxEntriesPerCall = 1000;
  uint64_t begin_ = 0, end_ = 0;
};

}  // namespace

void AddLogCommands(CommandTable* table) {
  table->push_back(std::make_unique<CheckpointCommand>());
  table->push_back(std::make_unique<ProofCommand>());
  table->push_back(std::make_unique<EntriesCommand>());
}

}  // namespace ktlog
