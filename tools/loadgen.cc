// ktlog-loadgen: a load generator that also checks correctness, in the
// manner of Tessera's hammer. Phase 1: concurrent writers append signed
// add-device records and time each acknowledged write. Then the latest
// checkpoint is verified and a sample of acknowledged records is proved
// included at their acknowledged indices. Phase 2: concurrent readers look
// up the written accounts and verify every answer (index proof, device
// records, key chain). Any failed check makes it exit 1.
//
// usage: ktlog-loadgen --server=HOST:PORT --log_key=LOG_KEY [flags]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/log_client.h"
#include "core/account/record.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/flags.h"
#include "verifier/lookup.h"

namespace ktlog {
namespace {

struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void Add(double v) {
    std::lock_guard<std::mutex> l(mu);
    ms.push_back(v);
  }
  std::string Summary(absl::Duration wall) {
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) return "none";
    auto pct = [&](double p) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
    };
    return absl::StrFormat(
        "%zu ops in %.1f s = %.0f ops/s; latency ms p50 %.2f p90 %.2f p99 %.2f "
        "max %.2f",
        ms.size(), absl::ToDoubleSeconds(wall),
        ms.size() / absl::ToDoubleSeconds(wall), pct(0.5), pct(0.9), pct(0.99),
        ms.back());
  }
};

struct Written {
  uint64_t leaf_index;
  Hash leaf_hash;
  std::string account_id;
};

struct Config {
  std::string server = "127.0.0.1:8020", log_key_text, prefix, acked_out;
  uint64_t writers = 8, readers = 4, samples = 500, devices_per_account = 3;
  absl::Duration write_for = absl::Seconds(10), read_for = absl::Seconds(10);
};

void AddFlags(FlagSet* flags, Config* c) {
  flags->String("server", &c->server, "log server address");
  flags->String("log_key", &c->log_key_text,
                "the log key (\"<verifier key>,vrf=<VRF key>\")");
  flags->String("prefix", &c->prefix, "account id prefix (default: random)");
  flags->Uint64("writers", &c->writers, "concurrent writers");
  flags->Uint64("readers", &c->readers,
                "concurrent readers (0: no read phase)");
  flags->Duration("write_for", &c->write_for, "length of the write phase");
  flags->Duration("read_for", &c->read_for, "length of the read phase");
  flags->Uint64("samples", &c->samples,
                "acknowledged records to prove included");
  flags->Uint64("devices_per_account", &c->devices_per_account,
                "devices each written account gets (1..100)");
  flags->String("acked_out", &c->acked_out,
                "write every acknowledged record to this file, one JSON "
                "object per line: {\"leaf_index\":N,\"leaf_hash\":\"HEX\"}");
}

// The run's shared state: the client, failures, what was written.
struct LoadRun {
  const Config& config;
  LogPublicKey log_key;
  std::unique_ptr<LogClient> client;
  std::atomic<int> failures{0};
  std::mutex mu;
  std::vector<Written> written;
  std::vector<std::string> accounts;

  void Fail(const std::string& what) {
    if (failures.fetch_add(1) < 10) {
      std::cerr << "ktlog-loadgen: FAILED: " << what << "\n";
    }
  }
};

// One writer: fresh accounts, each with config.devices_per_account devices.
void Writer(LoadRun* run, Latencies* lat, uint64_t t, absl::Time stop) {
  const Config& c = run->config;
  for (int a = 0; absl::Now() < stop; ++a) {
    Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
    std::string id = absl::StrCat(c.prefix, "-", t, "-", a);
    for (uint64_t d = 0; d < c.devices_per_account && absl::Now() < stop; ++d) {
      DeviceRecord r;
      r.account_id = id;
      r.device_id = absl::StrCat("device", d);
      r.key = Sha256(absl::StrCat(id, d)).bytes();
      r.account_version = d + 1;
      r.timestamp_ms = RealClock::Get()->NowMillis();
      r.Sign(key);
      std::string bytes = r.Encode();
      absl::Time t0 = absl::Now();
      auto w = run->client->Write(Operation::kAddDevice, bytes, false);
      if (!w.ok()) {
        run->Fail(absl::StrCat("write: ", w.status().ToString()));
        return;
      }
      lat->Add(absl::ToDoubleMilliseconds(absl::Now() - t0));
      std::lock_guard<std::mutex> l(run->mu);
      run->written.push_back(Written{w->leaf_index, w->leaf_hash, id});
      if (d == 0) run->accounts.push_back(id);
    }
  }
}

void WritePhase(LoadRun* run) {
  Latencies lat;
  absl::Time start = absl::Now(), stop = start + run->config.write_for;
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < run->config.writers; ++t) {
    threads.emplace_back(Writer, run, &lat, t, stop);
  }
  for (auto& t : threads) t.join();
  std::cout << "writes: " << lat.Summary(absl::Now() - start) << "\n";
  if (run->config.acked_out.empty()) return;
  std::string lines;
  for (const Written& w : run->written) {
    absl::StrAppend(&lines, "{\"leaf_index\":", w.leaf_index,
                    ",\"leaf_hash\":\"", w.leaf_hash.ToHex(), "\"}\n");
  }
  absl::Status s = WriteFileAtomically(run->config.acked_out, lines, 0644);
  if (!s.ok()) run->Fail(absl::StrCat("--acked_out: ", s.message()));
}

// A checkpoint covering every acknowledged write, and a sample of them
// proved included.
absl::StatusOr<LogCheckpoint> CheckPhase(LoadRun* run) {
  uint64_t max_index = 0;
  for (const Written& w : run->written) {
    max_index = std::max(max_index, w.leaf_index);
  }
  absl::StatusOr<LogCheckpoint> cp;
  for (int i = 0; i < 600; ++i) {
    auto note = run->client->GetCheckpoint(0);
    if (!note.ok()) return note.status();
    cp = OpenLogCheckpoint(*note, run->log_key.checkpoint_key);
    if (!cp.ok() || run->written.empty() || cp->size > max_index) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  if (!cp.ok()) return cp.status();
  std::mt19937_64 rng(42);
  std::vector<Written> sample = run->written;
  std::shuffle(sample.begin(), sample.end(), rng);
  if (sample.size() > run->config.samples) sample.resize(run->config.samples);
  for (const Written& w : sample) {
    auto proof = run->client->GetInclusionProof(w.leaf_index, cp->size);
    if (!proof.ok() || !VerifyInclusion(w.leaf_index, cp->size, w.leaf_hash,
                                        proof->hashes, cp->root)
                            .ok()) {
      run->Fail(absl::StrCat("acknowledged record ", w.leaf_index,
                             " is not proved included"));
    }
  }
  std::cout << "checked: checkpoint of size " << cp->size << ", "
            << sample.size() << " acknowledged records proved included\n";
  return cp;
}

void ReadPhase(LoadRun* run, const LogCheckpoint& cp) {
  Latencies lat;
  absl::Time start = absl::Now(), stop = start + run->config.read_for;
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < run->config.readers; ++t) {
    threads.emplace_back([run, &lat, &cp, stop, t] {
      std::mt19937_64 rng(t);
      while (absl::Now() < stop) {
        const std::string& id = run->accounts[rng() % run->accounts.size()];
        absl::Time t0 = absl::Now();
        auto answer = run->client->LookupAccount(id, cp.size);
        if (!answer.ok()) {
          run->Fail(absl::StrCat("lookup: ", answer.status().ToString()));
          return;
        }
        auto verified =
            VerifyAccountLookup(cp, run->log_key.vrf_key, id, *answer);
        lat.Add(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!verified.ok() || !verified->state.has_value()) {
          run->Fail(absl::StrCat("lookup of ", id, " does not verify: ",
                                 verified.status().ToString()));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  std::cout << "verified lookups: " << lat.Summary(absl::Now() - start) << "\n";
}

int Run(int argc, char** argv) {
  Config c;
  FlagSet flags(
      "usage: ktlog-loadgen --server=HOST:PORT --log_key=LOG_KEY "
      "[flags]\n\n"
      "Writes signed records from concurrent writers, then looks accounts up\n"
      "from concurrent readers; verifies everything; prints throughput and\n"
      "latency percentiles. Exit 1 if any check fails.");
  AddFlags(&flags, &c);
  std::vector<std::string> args;
  int exit_code;
  if (!ParseMainFlags(flags, argc, argv, "ktlog-loadgen", &args, &exit_code)) {
    return exit_code;
  }
  auto log_key = LogPublicKey::Parse(c.log_key_text);
  if (!log_key.ok()) {
    std::cerr << "ktlog-loadgen: --log_key: " << log_key.status().message()
              << "\n";
    return 2;
  }
  if (c.devices_per_account < 1 || c.devices_per_account > 100) {
    std::cerr << "ktlog-loadgen: --devices_per_account must be 1..100\n";
    return 2;
  }
  if (c.prefix.empty()) {
    c.prefix = absl::StrCat("load", RealClock::Get()->NowMillis());
  }
  LoadRun run{c, *log_key, LogClient::Create(c.server, absl::Seconds(30))};
  WritePhase(&run);
  absl::StatusOr<LogCheckpoint> cp = CheckPhase(&run);
  if (!cp.ok()) run.Fail(absl::StrCat("checkpoint: ", cp.status().ToString()));
  if (c.readers > 0 && cp.ok() && !run.accounts.empty()) ReadPhase(&run, *cp);
  if (run.failures.load() > 0) {
    std::cout << "FAILED: " << run.failures.load() << " checks failed\n";
    return 1;
  }
  std::cout << "all checks passed\n";
  return 0;
}

}  // namespace
}  // namespace ktlog

int main(int argc, char** argv) { return ktlog::Run(argc, argv); }
