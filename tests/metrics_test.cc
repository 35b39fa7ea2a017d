// The server's and the auditor's /metrics (docs/operations.md, "Metrics"),
// scraped from a real server under load and a real auditor, and read by
// Prometheus's reference parser (python3-prometheus-client, through
// tests/metrics_parse.py): every metric docs/operations.md lists is there
// with its type, and the counters move exactly as the load did.
#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auditor/auditor.h"
#include "auditor/witness_http.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/subprocess.h"
#include "tests/test_env.h"

namespace ktlog {
namespace {

using ::absl::StatusCode;

constexpr char kParser[] = "tests/metrics_parse.py";

// A scrape as the parser read it.
struct Scrape {
  nlohmann::json types;
  nlohmann::json samples;

  // The value of sample `key` (labels sorted by name); fails the test and
  // returns -1 if absent.
  double operator[](const std::string& key) const {
    auto it = samples.find(key);
    EXPECT_NE(it, samples.end()) << "no sample " << key;
    return it != samples.end() && it->is_number() ? it->get<double>() : -1;
  }
  bool Has(const std::string& key) const { return samples.contains(key); }
};

Scrape Parse(const std::string& text) {
  RunResult r = RunProgram({"/usr/bin/python3", kParser}, text);
  EXPECT_EQ(r.exit_code, 0) << r.out << "\n--- exposition:\n" << text;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object()) return Scrape{};
  return Scrape{j["types"], j["samples"]};
}

Scrape Get(const std::string& base_url, std::string* content_type = nullptr) {
  httplib::Client http(base_url);
  auto res = http.Get("/metrics");
  EXPECT_TRUE(res) << "no answer from " << base_url;
  if (!res) return Scrape{};
  EXPECT_EQ(res->status, 200);
  if (content_type != nullptr) {
    *content_type = res->get_header_value("Content-Type");
  }
  return Parse(res->body);
}

// The metric names docs/operations.md's tables list (first column).
std::set<std::string> DocumentedMetrics() {
  std::ifstream in("docs/operations.md");
  std::set<std::string> names;
  std::string line;
  std::regex row("^\\| `(ktlog_[a-z_]+)` \\|");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, row)) names.insert(m[1]);
  }
  return names;
}

// The families of a scrape, by the names they are exposed under (a
// counter's with its _total).
std::set<std::string> Families(const Scrape& s) {
  std::set<std::string> names;
  for (const auto& [name, type] : s.types.items()) {
    names.insert(type == "counter" ? name + "_total" : name);
  }
  return names;
}

std::string Rpcs(const std::string& method, const std::string& code) {
  return absl::StrCat("ktlog_rpcs_total{code=\"", code, "\",method=\"", method,
                      "\"}");
}

std::string Records(const std::string& code) {
  return absl::StrCat("ktlog_write_records_total{code=\"", code, "\"}");
}

TEST(MetricsTest, ServerAndAuditorCountWhatHappened) {
  NoteSigner witness =
      *NoteSigner::Generate("witness.example/w1", kNoteTypeCosignatureV1);
  LogServerOptions options;
  options.http_listen_address = "127.0.0.1:0";
  options.cosignatures.witnesses.push_back(witness.verifier_key());
  // 30 lookups (5 of them in one batch), then refused: no refill within
  // the test.
  options.service.lookup_limit = RateLimit{0.0001, 30};
  auto env = LogEnv::Start(options);
  const std::string url = env->server()->tiles_url();

  std::string content_type;
  Scrape before = Get(url, &content_type);
  EXPECT_EQ(content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_FALSE(before.Has(Records("OK"))) << "no record written yet";

  // Load: two front ends writing batches while a third writes one record
  // per call, and lookups meanwhile.
  constexpr int kBatches = 4, kPerBatch = 25, kSingles = 20;
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&env, w] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::string> records;
        for (int i = 0; i < kPerBatch; ++i) {
          TestAccount a(absl::StrCat("batch", w, "-", b, "-", i));
          records.push_back(a.Add("phone").Encode());
        }
        auto r = env->client()->AppendRecords(records, false);
        ASSERT_TRUE(r.ok()) << r.status();
        for (const auto& o : r->outcomes) ASSERT_TRUE(o.ok()) << o.status();
      }
    });
  }
  writers.emplace_back([&env] {
    for (int i = 0; i < kSingles; ++i) {
      TestAccount a(absl::StrCat("single", i));
      env->Append(a.Add("phone"));
    }
  });
  // A client checking five contacts: one call, five lookups' tokens.
  auto batch = env->client()->LookupAccounts(
      {{"single0"}, {"c1"}, {"c2"}, {"c3"}, {"c4"}}, env->Checkpoint().size);
  for (const auto& a : batch) ASSERT_TRUE(a.ok()) << a.status();
  std::vector<StatusCode> lookups;
  for (int i = 0; i < 40; ++i) {
    lookups.push_back(
        env->client()
            ->LookupAccountAtLatest(absl::StrCat("single", i % 5), false)
            .status()
            .code());
  }
  for (auto& t : writers) t.join();
  // Refused records: a forged signature (refused before the queue), and a
  // first record of an account that exists, by another key (refused by the
  // account rules, in the queue).
  TestAccount mallory("single0");
  DeviceRecord forged = mallory.Add("laptop", false);
  forged.signature[0] ^= 1;
  EXPECT_EQ(env->client()
                ->Write(Operation::kAddDevice, forged.Encode(), true)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  TestAccount twice("batch0-0-0");
  EXPECT_EQ(
      env->client()
          ->Write(Operation::kAddDevice, twice.Add("phone").Encode(), true)
          .status()
          .code(),
      StatusCode::kPermissionDenied);

  // A witness cosigns.
  MetricsRegistry auditor_metrics;
  AuditorOptions auditor_options;
  auditor_options.state_dir = NewTempDir("metrics-auditor");
  auditor_options.log_key = env->log_key();
  auditor_options.metrics = &auditor_metrics;
  auto auditor = Auditor::Open(
      auditor_options, *NoteSigner::Parse(witness.ToString()), env->feed());
  ASSERT_TRUE(auditor.ok()) << auditor.status();
  auto round = (*auditor)->RunOnce();
  ASSERT_TRUE(round.ok()) << round.status();

  Scrape after = Get(url);
  const double appended = 2 * kBatches * kPerBatch + kSingles;
  EXPECT_EQ(after[Records("OK")], appended);
  EXPECT_EQ(after[Records("INVALID_ARGUMENT")], 1);
  EXPECT_EQ(after[Records("PERMISSION_DENIED")], 1);
  EXPECT_EQ(after[Rpcs("AppendRecords", "OK")], 2 * kBatches);
  EXPECT_EQ(after[Rpcs("AddDevice", "OK")], kSingles);
  EXPECT_EQ(after[Rpcs("AddDevice", "INVALID_ARGUMENT")], 1);
  int ok = std::count(lookups.begin(), lookups.end(), StatusCode::kOk);
  int limited = std::count(lookups.begin(), lookups.end(),
                           StatusCode::kResourceExhausted);
  EXPECT_EQ(ok + limited, 40) << "a lookup neither answered nor limited";
  EXPECT_EQ(limited, 15);
  EXPECT_EQ(after[Rpcs("LookupAccounts", "OK")], 1);
  EXPECT_EQ(after["ktlog_batched_lookups_total{code=\"OK\"}"], 5);
  EXPECT_EQ(after["ktlog_rate_limited_total{limit=\"lookups\"}"], limited);
  EXPECT_FALSE(after.Has("ktlog_rate_limited_total{limit=\"writes\"}"));
  // A lookup of an account not created yet is answered too (its absence,
  // proved): every admitted lookup is OK.
  EXPECT_EQ(after[Rpcs("LookupAccount", "OK")], ok);
  EXPECT_EQ(after[Rpcs("LookupAccount", "RESOURCE_EXHAUSTED")], limited);
  EXPECT_EQ(after["ktlog_rpc_duration_seconds_count{method=\"LookupAccount\"}"],
            40);
  EXPECT_GT(after["ktlog_rpc_duration_seconds_sum{method=\"LookupAccount\"}"],
            0);
  EXPECT_EQ(after["ktlog_rpc_duration_seconds_bucket{le=\"+Inf\",method="
                  "\"LookupAccount\"}"],
            40);

  // The sequencer: every record that reached the queue was in a batch, and
  // every appended one waited for a checkpoint that now covers it.
  EXPECT_EQ(after["ktlog_write_batch_records_sum"], appended + 1);
  EXPECT_GE(after["ktlog_write_batch_records_count"], 2);
  EXPECT_LE(after["ktlog_write_batch_records_count"], appended + 1);
  EXPECT_EQ(after["ktlog_write_to_checkpoint_seconds_count"], appended);
  EXPECT_GT(after["ktlog_write_to_checkpoint_seconds_sum"], 0);
  EXPECT_EQ(after["ktlog_write_queue_depth"], 0);
  EXPECT_EQ(after["ktlog_tree_size"], appended);
  EXPECT_EQ(before["ktlog_tree_size"], 0);
  EXPECT_GE(after["ktlog_checkpoint_age_seconds"], -1);
  EXPECT_LT(after["ktlog_checkpoint_age_seconds"], 60);
  EXPECT_GT(after["ktlog_storage_bytes"], before["ktlog_storage_bytes"]);

  // The witness.
  const std::string w = "{witness=\"witness.example/w1\"}";
  EXPECT_EQ(before["ktlog_witness_cosignatures_total" + w], 0);
  EXPECT_EQ(after["ktlog_witness_cosignatures_total" + w], 1);
  EXPECT_GE(after["ktlog_witness_cosignature_age_seconds" + w], 0);
  EXPECT_LT(after["ktlog_witness_cosignature_age_seconds" + w], 60);

  for (const char* family :
       {"ktlog_rpcs", "ktlog_write_records", "ktlog_rate_limited",
        "ktlog_witness_cosignatures"}) {
    EXPECT_EQ(after.types[family], "counter") << family;
  }
  for (const char* family :
       {"ktlog_rpc_duration_seconds", "ktlog_write_batch_records",
        "ktlog_write_to_checkpoint_seconds"}) {
    EXPECT_EQ(after.types[family], "histogram") << family;
  }
  for (const char* family :
       {"ktlog_write_queue_depth", "ktlog_tree_size",
        "ktlog_checkpoint_age_seconds", "ktlog_witness_cosignature_age_seconds",
        "ktlog_storage_bytes"}) {
    EXPECT_EQ(after.types[family], "gauge") << family;
  }

  // The auditor, over its HTTP listener.
  absl::Mutex mu;
  auto endpoint = WitnessHttpServer::Start(auditor->get(), &mu, "127.0.0.1:0",
                                           std::nullopt, &auditor_metrics);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  Scrape audited = Get((*endpoint)->url());
  EXPECT_EQ(audited["ktlog_auditor_verified_size"], appended);
  EXPECT_EQ(audited["ktlog_auditor_log_size"], appended);
  EXPECT_EQ(audited["ktlog_auditor_behind_leaves"], 0);
  EXPECT_EQ(audited["ktlog_auditor_cosignatures_total"], 1);
  EXPECT_EQ(audited["ktlog_auditor_misbehaving"], 0);
  EXPECT_FALSE(audited.Has("ktlog_auditor_refusals_total{code=\"DATA_LOSS\"}"));

  // More leaves: the auditor is behind until its next round; a log that
  // is down is a refusal by code.
  TestAccount late("late");
  env->Append(late.Add("phone"));
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE((*auditor)->RunOnce().ok());
  }
  // Every metric the server and the auditor export is in
  // docs/operations.md, and every one listed there is exported.
  std::set<std::string> exported = Families(after);
  std::set<std::string> by_auditor = Families(audited);
  exported.insert(by_auditor.begin(), by_auditor.end());
  exported.insert("ktlog_auditor_refusals_total");  // none refused yet
  EXPECT_EQ(exported, DocumentedMetrics());

  Scrape caught_up = Get((*endpoint)->url());
  EXPECT_EQ(caught_up["ktlog_auditor_verified_size"], appended + 1);
  EXPECT_EQ(caught_up["ktlog_auditor_cosignatures_total"], 2);
  env->server()->Shutdown();  // the client and feed stay
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ((*auditor)->RunOnce().status().code(), StatusCode::kUnavailable);
  }
  Scrape down = Get((*endpoint)->url());
  EXPECT_EQ(down["ktlog_auditor_refusals_total{code=\"UNAVAILABLE\"}"], 1);
}

// The parser is real: it refuses what Prometheus would (so the test above
// cannot pass on output Prometheus cannot read).
TEST(MetricsTest, TheParserRefusesMalformedExpositions) {
  RunResult r = RunProgram({"/usr/bin/python3", kParser},
                           "# TYPE x counter\nx{a=\"unterminated} 1\n");
  EXPECT_NE(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace ktlog
