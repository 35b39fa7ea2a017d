#include "client/tiles_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/merkle/proof.h"
#include "core/util/status_macros.h"
#include "httplib.h"

namespace ktlog {
namespace {

constexpr size_t kCachedTiles = 128;
constexpr size_t kMaxTileBytes = kTileWidth * Hash::kSize;
constexpr size_t kMaxBundleBytes = kTileWidth * (2 + kMaxBundledEntry);
constexpr size_t kMaxCheckpointBytes = 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<TilesClient>> TilesClient::Create(
    const std::string& url, absl::Duration timeout, const ClientTls* tls,
    const std::string& bearer_token) {
  size_t scheme = absl::StartsWith(url, "http://")    ? 7
                  : absl::StartsWith(url, "https://") ? 8
                                                      : 0;
  if (scheme == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tiles URL \"", url, "\" is not http[s]://host:port[/prefix]"));
  }
  if (scheme == 7 && tls != nullptr && !tls->plaintext && !tls->http_tiles) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tiles URL \"", url,
        "\" is plain http: use https://, or pass --http_tiles to read tiles "
        "over plain HTTP (proofs from them are checked against a signed "
        "checkpoint, and nothing from them raises an alert or becomes "
        "evidence; a mirror sees what you read)"));
  }
  size_t slash = url.find('/', scheme);
  std::string host = url.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (absl::EndsWith(prefix, "/")) prefix.pop_back();
  if (host.size() <= scheme) {
    return absl::InvalidArgumentError(
        absl::StrCat("tiles URL \"", url, "\" has no host"));
  }
  auto http = std::make_unique<httplib::Client>(host);
  if (scheme == 8) {
    http->enable_server_certificate_verification(true);
    if (tls != nullptr && !tls->ca_file.empty()) {
      http->set_ca_cert_path(tls->ca_file.c_str());
    }
  }
  int64_t seconds = std::max<int64_t>(1, absl::ToInt64Seconds(timeout));
  http->set_connection_timeout(seconds);
  http->set_read_timeout(seconds);
  http->set_keep_alive(true);
  http->set_tcp_nodelay(true);
  if (!bearer_token.empty()) http->set_bearer_token_auth(bearer_token);
  return std::unique_ptr<TilesClient>(
      new TilesClient(url, prefix, std::move(http)));
}

TilesClient::TilesClient(std::string url, std::string prefix,
                         std::unique_ptr<httplib::Client> http)
    : url_(std::move(url)),
      prefix_(std::move(prefix)),
      http_(std::move(http)) {}

TilesClient::~TilesClient() = default;

absl::StatusOr<std::string> TilesClient::Fetch(const std::string& path,
                                               size_t max_bytes) {
  std::string body;
  bool too_big = false;
  absl::MutexLock lock(&mu_);
  httplib::Result r =
      http_->Get(prefix_ + "/" + path, [&](const char* data, size_t n) {
        if (body.size() + n > max_bytes) {
          too_big = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
  if (too_big) {
    return absl::DataLossError(
        absl::StrCat(url_, "/", path, " is over ", max_bytes, " bytes"));
  }
  if (!r) {
    return absl::UnavailableError(absl::StrCat(
        "cannot fetch ", url_, "/", path, ": ", httplib::to_string(r.error())));
  }
  if (r->status == 401 || r->status == 403) {
    return absl::PermissionDeniedError(
        absl::StrCat(url_, "/", path, " answered ", r->status, ": ", body));
  }
  if (r->status == 404) {
    return absl::NotFoundError(absl::StrCat(url_, "/", path, " not found"));
  }
  if (r->status != 200) {
    return absl::UnavailableError(
        absl::StrCat(url_, "/", path, " answered ", r->status));
  }
  return body;
}

absl::StatusOr<std::string> TilesClient::Checkpoint() {
  return Fetch("checkpoint", kMaxCheckpointBytes);
}

absl::StatusOr<std::string> TilesClient::FetchTile(TileId id) {
  size_t max = id.entries ? kMaxBundleBytes : kMaxTileBytes;
  absl::StatusOr<std::string> data = Fetch(id.Path(), max);
  if (!absl::IsNotFound(data.status()) || id.full()) return data;
  // A tiles directory removes partial tiles once the full one exists.
  uint64_t width = id.width;
  id.width = kTileWidth;
  ASSIGN_OR_RETURN(std::string full, Fetch(id.Path(), max));
  if (!id.entries) return full.substr(0, width * Hash::kSize);
  ASSIGN_OR_RETURN(std::vector<std::string> all,
                   DecodeEntryBundle(full, kTileWidth));
  all.resize(width);
  return EncodeEntryBundle(all);
}

absl::StatusOr<std::vector<Hash>> TilesClient::HashTile(const TileId& id) {
  std::string path = id.Path();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(path);
    if (it != cache_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::string data, FetchTile(id));
  absl::StatusOr<std::vector<Hash>> hashes = DecodeHashTile(data, id.width);
  if (!hashes.ok()) {
    return absl::DataLossError(absl::StrCat(
        url_, "/", path, " is malformed: ", hashes.status().message()));
  }
  absl::MutexLock lock(&mu_);
  cache_[path] = *hashes;
  cache_order_.push_back(path);
  if (cache_order_.size() > kCachedTiles) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
  return hashes;
}

absl::StatusOr<std::vector<std::string>> TilesClient::Entries(
    uint64_t begin, uint64_t end, uint64_t tree_size) {
  if (begin >= end || end > tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("entries [", begin, ", ", end,
                     ") are not in the tree of size ", tree_size));
  }
  TileId id{true, 0, begin / kTileWidth, 0};
  id.width = TileWidthAt(0, id.index, tree_size);
  ASSIGN_OR_RETURN(std::string data, FetchTile(id));
  absl::StatusOr<std::vector<std::string>> all =
      DecodeEntryBundle(data, id.width);
  if (!all.ok()) {
    return absl::DataLossError(absl::StrCat(
        url_, "/", id.Path(), " is malformed: ", all.status().message()));
  }
  uint64_t first = id.index * kTileWidth;
  uint64_t last = std::min(end, first + id.width);
  return std::vector<std::string>(all->begin() + (begin - first),
                                  all->begin() + (last - first));
}

absl::StatusOr<std::vector<Hash>> TilesClient::Nodes(
    const std::vector<NodeId>& ids, uint64_t tree_size) {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const NodeId& node : ids) {
    if (node.end() > tree_size || node.level > 63) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", int{node.level}, "/", node.index,
                       " is not complete in the tree of size ", tree_size));
    }
    ASSIGN_OR_RETURN(std::vector<Hash> tile, HashTile(TileOf(node, tree_size)));
    out.push_back(NodeFromTile(node, tile));
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> TilesClient::ConsistencyProof(
    uint64_t size1, uint64_t size2) {
  ASSIGN_OR_RETURN(ProofPlan plan, ConsistencyProofPlan(size1, size2));
  std::vector<NodeId> ids;
  for (const auto& element : plan)
    ids.insert(ids.end(), element.begin(), element.end());
  ASSIGN_OR_RETURN(std::vector<Hash> nodes, Nodes(ids, size2));
  return AssembleProof(plan, nodes);
}

absl::StatusOr<InclusionAnswer> TilesClient::InclusionProof(uint64_t index,
                                                            uint64_t size) {
  ASSIGN_OR_RETURN(ProofPlan plan, InclusionProofPlan(index, size));
  std::vector<NodeId> ids;
  for (const auto& element : plan)
    ids.insert(ids.end(), element.begin(), element.end());
  ASSIGN_OR_RETURN(std::vector<Hash> nodes, Nodes(ids, size));
  return InclusionAnswer{index, size, AssembleProof(plan, nodes)};
}

}  // namespace ktlog
