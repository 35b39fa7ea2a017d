// TilesClient: reads a ktlog log's public data from its C2SP tlog-tiles
// over HTTP (docs/tiles.md), from the log's own --http_listen, a copy of its
// --tiles_dir on any web server, or a caching proxy or CDN in front of
// either. It computes what it needs from the tiles: leaves from entry
// bundles, any tree node, inclusion and consistency proofs. It trusts
// nothing: checkpoints and proofs are for the caller to verify (a wrong
// tile makes a proof fail, never a check pass).
//
// Status codes: NOT_FOUND for a tile the server does not have; UNAVAILABLE
// (naming the URL) when it cannot be reached or answers with an error;
// DATA_LOSS for a tile of the wrong size. Thread-safe.
#ifndef KTLOG_CLIENT_TILES_CLIENT_H_
#define KTLOG_CLIENT_TILES_CLIENT_H_

#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/account/answers.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"
#include "core/merkle/tiles.h"
#include "proto/tls.h"

namespace httplib {
class Client;
}

namespace ktlog {

class TilesClient {
 public:
  // `url`: "http[s]://host:port" with an optional path prefix.
  // INVALID_ARGUMENT for anything else. HTTPS checks the server's
  // certificate against `tls->ca_file` (empty: the system's roots). With
  // `tls` (a binary's flags), an http:// URL needs tls->plaintext; without
  // (library use), it is allowed. Requests time out after `timeout`.
  // With `bearer_token`, every request presents it ("Authorization: Bearer
  // <token>"; a read replica reading its log's private feed).
  static absl::StatusOr<std::unique_ptr<TilesClient>> Create(
      const std::string& url, absl::Duration timeout = absl::Seconds(30),
      const ClientTls* tls = nullptr, const std::string& bearer_token = "");
  ~TilesClient();

  // The log's latest checkpoint note (unverified).
  absl::StatusOr<std::string> Checkpoint();
  // Leaves from `begin` (< end <= tree_size) to the end of begin's entry
  // bundle at most, as the tree of `tree_size` holds them.
  absl::StatusOr<std::vector<std::string>> Entries(uint64_t begin, uint64_t end,
                                                   uint64_t tree_size);
  // The hashes of `ids`, complete nodes of the tree of `tree_size`.
  absl::StatusOr<std::vector<Hash>> Nodes(const std::vector<NodeId>& ids,
                                          uint64_t tree_size);
  // RFC 9162 proofs, computed from the tiles of the tree of `size`/`size2`.
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1,
                                                     uint64_t size2);
  absl::StatusOr<InclusionAnswer> InclusionProof(uint64_t index, uint64_t size);

  const std::string& url() const { return url_; }

  // GET prefix/path, at most `max_bytes` (errors as above; DATA_LOSS if
  // longer).
  absl::StatusOr<std::string> Fetch(const std::string& path, size_t max_bytes);

 private:
  TilesClient(std::string url, std::string prefix,
              std::unique_ptr<httplib::Client> http);
  // A tile at its width in the tree of `tree_size`: the partial tile, or
  // the first hashes of the full one if the partial one is gone.
  absl::StatusOr<std::string> FetchTile(TileId id);
  absl::StatusOr<std::vector<Hash>> HashTile(const TileId& id);

  const std::string url_, prefix_;
  absl::Mutex mu_;
  std::unique_ptr<httplib::Client> http_ ABSL_GUARDED_BY(mu_);
  // Recently fetched hash tiles (immutable), by path.
  std::map<std::string, std::vector<Hash>> cache_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> cache_order_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ktlog

#endif  // KTLOG_CLIENT_TILES_CLIENT_H_
