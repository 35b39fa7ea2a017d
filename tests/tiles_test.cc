// The C2SP tiles end to end: a real server serves them over HTTP and writes
// them to a directory; a TilesClient reads everything back and computes
// proofs that must equal the gRPC API's; every file in the directory is
// byte for byte what HTTP serves; bad requests get clear errors; an auditor
// follows the log from the tiles.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "auditor/auditor.h"
#include "client/log_feed.h"
#include "client/tiles_client.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

std::unique_ptr<LogEnv> StartWithTiles(std::string* tiles_dir) {
  *tiles_dir = NewTempDir("tiles");
  LogServerOptions options;
  options.http_listen_address = "127.0.0.1:0";
  options.tiles_dir = *tiles_dir;
  return LogEnv::Start(options);
}

// `n` records from accounts of 3 devices each (ids `prefix`-N); the last
// write waits for its checkpoint.
void Write(LogEnv* env, int n, const std::string& prefix = "tiles") {
  for (int a = 0; a * 3 < n; ++a) {
    TestAccount account(absl::StrCat(prefix, "-", a));
    for (int d = 0; d < 3 && a * 3 + d < n; ++d) {
      DeviceRecord r = account.Add(absl::StrCat("d", d));
      bool last = a * 3 + d == n - 1;
      ASSERT_TRUE(env->client()->Write(r.operation, r.Encode(), last).ok());
    }
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TilesTest, TilesGiveTheSameLeavesAndProofsAsTheApi) {
  std::string dir;
  auto env = StartWithTiles(&dir);
  Write(env.get(), 600);
  LogCheckpoint cp = env->Checkpoint();
  ASSERT_GE(cp.size, 600u);
  auto tiles = TilesClient::Create(env->server()->tiles_url());
  ASSERT_TRUE(tiles.ok()) << tiles.status();
  TilesClient& t = **tiles;

  auto note = t.Checkpoint();
  ASSERT_TRUE(note.ok()) << note.status();
  auto from_tiles = OpenLogCheckpoint(*note, env->checkpoint_key());
  ASSERT_TRUE(from_tiles.ok());
  EXPECT_EQ(from_tiles->size, cp.size);

  // Every leaf, bundle by bundle.
  std::vector<std::string> leaves;
  while (leaves.size() < cp.size) {
    auto page = t.Entries(leaves.size(), cp.size, cp.size);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_FALSE(page->empty());
    leaves.insert(leaves.end(), page->begin(), page->end());
  }
  for (uint64_t b = 0; b < cp.size; b += 1000) {
    auto api = env->client()->GetEntries(b, cp.size);
    ASSERT_TRUE(api.ok());
    for (size_t i = 0; i < api->size(); ++i)
      EXPECT_EQ((*api)[i], leaves[b + i]);
  }
  // Proofs computed from the tiles are the API's, and verify.
  for (uint64_t i = 0; i < cp.size; i += 37) {
    auto proof = t.InclusionProof(i, cp.size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(proof->hashes,
              env->client()->GetInclusionProof(i, cp.size)->hashes);
    EXPECT_TRUE(
        VerifyInclusion(i, cp.size, HashLeaf(leaves[i]), proof->hashes, cp.root)
            .ok());
  }
  for (uint64_t s : {1u, 255u, 256u, 257u, 511u, 512u, 513u}) {
    if (s >= cp.size) continue;
    auto proof = t.ConsistencyProof(s, cp.size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, *env->client()->GetConsistencyProof(s, cp.size));
  }

  // The directory holds what HTTP serves (once the writer caught up).
  env->Stop();
  EXPECT_EQ(ReadFile(dir + "/checkpoint").substr(0, 20), note->substr(0, 20));
  std::string tile0 = ReadFile(dir + "/tile/0/000");
  EXPECT_EQ(tile0.size(), 256u * 32);
  std::string bundle1 = ReadFile(dir + "/tile/entries/001");
  EXPECT_EQ(
      *DecodeEntryBundle(bundle1, 256),
      std::vector<std::string>(leaves.begin() + 256, leaves.begin() + 512));
  EXPECT_FALSE(std::filesystem::exists(dir + "/tile/0/000.p"))
      << "partial tiles go once the full one exists";
  uint64_t edge = cp.size % 256;
  if (edge != 0) {
    EXPECT_TRUE(std::filesystem::exists(
        absl::StrCat(dir, "/tile/entries/", cp.size / 256 < 10 ? "00" : "0",
                     cp.size / 256, ".p/", edge)));
  }
}

TEST(TilesTest, BadRequestsGetClearAnswers) {
  std::string dir;
  auto env = StartWithTiles(&dir);
  Write(env.get(), 3);
  httplib::Client http(env->server()->tiles_url());
  auto r = http.Get("/tile/0/000.p/3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Cache-Control"),
            "public, max-age=31536000, immutable");
  EXPECT_EQ(r->body.size(), 3u * 32);
  r = http.Get("/checkpoint");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache");
  for (const char* missing : {"/tile/0/000", "/tile/0/000.p/4", "/tile/1/000",
                              "/tile/entries/001", "/other", "/"}) {
    r = http.Get(missing);
    ASSERT_TRUE(r) << missing;
    EXPECT_EQ(r->status, 404) << missing;
  }
  for (const char* bad : {"/tile/0/x000/003", "/tile/9/000", "/tile/0/000.p/0",
                          "/tile/0/000.p/300"}) {
    r = http.Get(bad);
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_NE(r->body.find("not a tile path"), std::string::npos) << r->body;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    httplib::Request req;
    req.method = method;
    req.path = "/checkpoint";
    req.body = "x";
    r = http.send(req);
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->status, 405) << method;
    EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD") << method;
  }
  // One URL per file (issue 29, 8): "%30" would be a second name for "0".
  r = http.Get("/tile/0/000.p/%33");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // Many ranges would build an answer many times the tile's size.
  r = http.Get("/tile/0/000.p/3", {{"Range", "bytes=0-95,0-95,0-95"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 416);
  r = http.Get("/tile/0/000.p/3", {{"Range", "bytes=0-31"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->body.size(), 32u);
}

TEST(TilesTest, AnAuditorFollowsTheTiles) {
  std::string dir;
  auto witness = std::make_unique<NoteSigner>(
      *NoteSigner::Generate("witness.example/w", kNoteTypeCosignatureV1));
  LogServerOptions options;
  options.http_listen_address = "127.0.0.1:0";
  options.cosignatures.witnesses.push_back(witness->verifier_key());
  auto env = LogEnv::Start(options);
  Write(env.get(), 300);
  auto tiles = TilesClient::Create(env->server()->tiles_url());
  ASSERT_TRUE(tiles.ok());
  TilesFeed feed(tiles->get(), env->client());
  AuditorOptions ao;
  ao.state_dir = NewTempDir("tiles-auditor");
  ao.log_key = env->log_key();
  ao.page = 1000;
  auto auditor =
      Auditor::Open(ao, *NoteSigner::Parse(witness->ToString()), &feed);
  ASSERT_TRUE(auditor.ok()) << auditor.status();
  auto round = (*auditor)->RunOnce();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->cosigned);
  EXPECT_GE(round->leaves_checked, 300u);
  Write(env.get(), 100, "more");  // more, incrementally
  round = (*auditor)->RunOnce();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(env->client()->GetCheckpoint(1).ok()) << "cosigned";
}

// A mirror that changes a tile (anyone on the way to an http:// mirror
// can) makes no evidence against the log: what the tiles show wrong is
// judged again on the log's own answers, which verify, and the checkpoint
// is cosigned.
TEST(TilesTest, AChangedTileIsNotEvidenceAgainstTheLog) {
  auto witness = std::make_unique<NoteSigner>(
      *NoteSigner::Generate("witness.example/w", kNoteTypeCosignatureV1));
  LogServerOptions options;
  options.http_listen_address = "127.0.0.1:0";
  options.cosignatures.witnesses.push_back(witness->verifier_key());
  auto env = LogEnv::Start(options);
  Write(env.get(), 300);
  httplib::Client upstream(env->server()->tiles_url());
  httplib::Server mirror;
  std::atomic<int> changed{0};
  mirror.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    auto r = upstream.Get(req.path.c_str());
    if (!r) {
      res.status = 502;
      return;
    }
    std::string body = r->body;
    if (req.path == "/tile/entries/000" && body.size() > 1000) {
      body[1000] ^= 0x01;
      changed.fetch_add(1);
    }
    res.status = r->status;
    res.set_content(body, "application/octet-stream");
  });
  int port = mirror.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { mirror.listen_after_bind(); });
  auto tiles = TilesClient::Create(absl::StrCat("http://127.0.0.1:", port));
  ASSERT_TRUE(tiles.ok());
  TilesFeed feed(tiles->get(), env->client());
  GrpcFeed log(env->client());
  AuditorOptions ao;
  ao.state_dir = NewTempDir("tiles-auditor");
  ao.log_key = env->log_key();
  ao.authority = &log;
  auto auditor =
      Auditor::Open(ao, *NoteSigner::Parse(witness->ToString()), &feed);
  ASSERT_TRUE(auditor.ok()) << auditor.status();
  auto round = (*auditor)->RunOnce();
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_TRUE(round->cosigned);
  EXPECT_GT(changed.load(), 0) << "the mirror changed nothing: no test";
  auto failure = (*auditor)->Failure();
  ASSERT_TRUE(failure.ok());
  EXPECT_FALSE(failure->has_value()) << failure->value().dump();
  mirror.stop();
  serving.join();
}

// Issue 29, 6: a tile write that fails (here the directory is gone, a
// file in its place; a full disk or no file descriptors take the same
// path) is retried with the next checkpoint, not at once in a hot loop
// that floods the log; once the directory is back, the tiles are written.
TEST(TilesTest, AFailingTileWriteIsRetriedWithTheNextCheckpoint) {
  std::string dir;
  LogServerOptions options;
  options.tiles_dir = dir = NewTempDir("tiles");
  options.sequencer.checkpoint_interval = absl::Milliseconds(200);
  auto env = LogEnv::Start(options);
  Write(env.get(), 3);
  // The writer may add a file (a heartbeat) while it is being removed.
  std::error_code ec;
  for (int i = 0; i < 100 && std::filesystem::exists(dir); ++i) {
    std::filesystem::remove_all(dir, ec);
  }
  { std::ofstream(dir) << "not a directory"; }
  const TilesDirectory* tiles = env->server()->tiles_directory();
  uint64_t before = tiles->attempts();
  Write(env.get(), 3, "more");
  absl::SleepFor(absl::Seconds(1));  // about five heartbeats
  uint64_t attempts = tiles->attempts() - before;
  EXPECT_GE(attempts, 1u);
  EXPECT_LE(attempts, 20u) << "a failed write was retried in a loop";
  std::filesystem::remove(dir);
  std::filesystem::create_directory(dir);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!std::filesystem::exists(dir + "/checkpoint") &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/tile/entries/000.p/6"));
}

}  // namespace
}  // namespace ktlog
