#include "tests/evil_log.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/testonly/reference_tree.h"
#include "core/util/clock.h"
#include "grpcpp/grpcpp.h"

namespace ktlog {

std::unique_ptr<EvilLog> EvilLog::Start(const NoteSigner& signer,
                                        const VrfPrivateKey& vrf) {
  std::unique_ptr<EvilLog> log(new EvilLog(signer, vrf));
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &log->port_);
  builder.RegisterService(log.get());
  log->server_ = builder.BuildAndStart();
  log->Publish(0);
  return log;
}

EvilLog::EvilLog(const NoteSigner& signer, const VrfPrivateKey& vrf)
    : signer_(
          std::make_unique<NoteSigner>(*NoteSigner::Parse(signer.ToString()))),
      vrf_(std::make_unique<VrfPrivateKey>(
          *VrfPrivateKey::FromSeed(vrf.seed()))),
      clock_ms_(RealClock::Get()->NowMillis()) {}

EvilLog::~EvilLog() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

std::string EvilLog::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

Leaf EvilLog::LeafFor(const std::string& account, uint64_t version) {
  Leaf leaf;
  leaf.position = vrf_->Prove(AccountVrfInput(account))->output;
  leaf.version = version;
  {
    absl::MutexLock lock(&mu_);
    leaf.timestamp_ms = ++clock_ms_;
  }
  leaf.record_commitment = Sha256(absl::StrCat("record ", account, version));
  leaf.state_commitment = Sha256(absl::StrCat("state ", account, version));
  return leaf;
}

void EvilLog::ServeRawNote(const std::string& note) {
  absl::MutexLock lock(&mu_);
  note_ = note;
}

void EvilLog::SetTime(uint64_t ms) {
  absl::MutexLock lock(&mu_);
  clock_ms_ = ms;
}

void EvilLog::Append(const std::string& leaf) {
  absl::MutexLock lock(&mu_);
  leaves_.push_back(leaf);
}

Hash EvilLog::RootAt(uint64_t size) {
  absl::MutexLock lock(&mu_);
  ReferenceTree tree;
  for (uint64_t i = 0; i < size; ++i) {
    tree.AppendLeafHash(HashLeaf(leaves_[i]));
  }
  return tree.Root(size);
}

Hash EvilLog::IndexRootAt(uint64_t size) {
  absl::MutexLock lock(&mu_);
  std::map<Hash, Hash> entries;  // an evil log indexes anything well-formed
  for (uint64_t i = 0; i < size; ++i) {
    absl::StatusOr<Leaf> leaf = DecodeLeaf(leaves_[i]);
    if (!leaf.ok()) continue;
    auto [position, value] = IndexEntryOf(*leaf);
    entries[position] = value;
  }
  return NaiveIndexRoot(entries);
}

LogCheckpoint EvilLog::Publish(uint64_t size, std::optional<Hash> forged_root,
                               std::optional<Hash> forged_index_root) {
  LogCheckpoint cp;
  cp.origin = signer_->name();
  cp.size = size;
  cp.root = forged_root.has_value() ? *forged_root : RootAt(size);
  cp.index_root =
      forged_index_root.has_value() ? *forged_index_root : IndexRootAt(size);
  absl::MutexLock lock(&mu_);
  cp.timestamp_ms = ++clock_ms_;
  note_ = SignLogCheckpoint(cp, *signer_);
  return cp;
}

std::vector<std::string> EvilLog::ReceivedCosignedNotes() {
  absl::MutexLock lock(&mu_);
  return cosigned_;
}

grpc::Status EvilLog::GetCheckpoint(grpc::ServerContext*,
                                    const v1::GetCheckpointRequest* req,
                                    v1::SignedCheckpoint* resp) {
  absl::MutexLock lock(&mu_);
  if (req->min_cosignatures() > 0) {
    // Serve the newest cosigned note whose body is the current checkpoint.
    std::string body = note_.substr(0, note_.find("\n\n") + 1);
    for (auto it = cosigned_.rbegin(); it != cosigned_.rend(); ++it) {
      if (it->rfind(body, 0) == 0) {
        resp->set_note(*it);
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no cosigned checkpoint");
  }
  resp->set_note(note_);
  return grpc::Status::OK;
}

grpc::Status EvilLog::GetCheckpointToCosign(
    grpc::ServerContext*, const v1::GetCheckpointToCosignRequest*,
    v1::SignedCheckpoint* resp) {
  absl::MutexLock lock(&mu_);
  resp->set_note(note_);
  return grpc::Status::OK;
}

grpc::Status EvilLog::GetConsistencyProof(
    grpc::ServerContext*, const v1::GetConsistencyProofRequest* req,
    v1::ConsistencyProof* resp) {
  absl::MutexLock lock(&mu_);
  if (req->size1() == 0 || req->size1() > req->size2() ||
      req->size2() > leaves_.size()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad sizes");
  }
  ReferenceTree tree;
  for (const std::string& l : leaves_) tree.AppendLeafHash(HashLeaf(l));
  for (const Hash& h : tree.ConsistencyProof(req->size1(), req->size2())) {
    resp->add_hashes(h.bytes());
  }
  return grpc::Status::OK;
}

grpc::Status EvilLog::GetInclusionProof(grpc::ServerContext*,
                                        const v1::GetInclusionProofRequest* req,
                                        v1::InclusionProof* resp) {
  absl::MutexLock lock(&mu_);
  if (req->leaf_index() >= req->tree_size() ||
      req->tree_size() > leaves_.size()) {
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "bad index");
  }
  ReferenceTree tree;
  for (const std::string& l : leaves_) tree.AppendLeafHash(HashLeaf(l));
  resp->set_leaf_index(req->leaf_index());
  resp->set_tree_size(req->tree_size());
  for (const Hash& h :
       tree.InclusionProof(req->leaf_index(), req->tree_size())) {
    resp->add_hashes(h.bytes());
  }
  return grpc::Status::OK;
}

grpc::Status EvilLog::GetEntries(grpc::ServerContext*,
                                 const v1::GetEntriesRequest* req,
                                 v1::GetEntriesResponse* resp) {
  absl::MutexLock lock(&mu_);
  for (uint64_t i = req->begin();
       i < req->end() && i < leaves_.size() && i < req->begin() + 1000; ++i) {
    resp->add_leaves(leaves_[i]);
  }
  return grpc::Status::OK;
}

grpc::Status EvilLog::AddCosignature(grpc::ServerContext*,
                                     const v1::AddCosignatureRequest* req,
                                     v1::AddCosignatureResponse* resp) {
  absl::MutexLock lock(&mu_);
  cosigned_.push_back(req->note());
  resp->set_cosignatures(1);
  return grpc::Status::OK;
}

}  // namespace ktlog
