// ktlog-loadgen: a load generator that also checks correctness, in the
// manner of Tessera's hammer. Optionally it first preloads the log with
// many accounts (for read benchmarks at scale). Write phase: concurrent
// writers append signed add-device records (signed before the timed phase
// with --writes, or as they go with --write_for) and time each acknowledged
// write (with --batch=N, N records per AppendRecords call; with
// --wait_for_checkpoint, until a checkpoint covers it). Then the latest
// checkpoint is verified and a sample of acknowledged records is proved
// included at their acknowledged indices.
// Read phase: concurrent readers look up the written accounts, verifying
// every answer (VRF proof, index proof, opening, device signatures) or, with
// --verify_reads=false, only fetching it (to measure the server alone). Any
// failed check makes it exit 1.
//
// Every figure is also given against this machine's limits, measured in
// the same run: one Ed25519 verification and one SHA-256 of a leaf, on one
// core. With --server_pid (a server on this machine) it reports the
// server's CPU time per operation.
//
// usage: ktlog-loadgen --server=HOST:PORT --log_key=LOG_KEY [flags]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "client/log_client.h"
#include "core/account/leaf.h"
#include "core/account/record.h"
#include "core/account/registration.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/flags.h"
#include "proto/tls.h"
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

// A record to send: its account and bytes.
struct Signed {
  std::string account_id;
  std::string bytes;
  bool first = false;  // the account's first record
  // With --registration_key, the first record's registration credential.
  std::string credential;
};

struct Config {
  std::string server = "127.0.0.1:8020", log_key_text, prefix, acked_out;
  uint64_t writers = 8, readers = 4, samples = 500, devices_per_account = 3;
  uint64_t batch = 1, read_batch = 1;
  uint64_t writes = 0, preload = 0, preload_devices = 1, server_pid = 0;
  uint64_t cosigned_quorum = 0, witness_pid = 0;
  bool verify_reads = true, wait_for_checkpoint = false;
  absl::Duration write_for = absl::Seconds(10), read_for = absl::Seconds(10);
  ClientTls tls;
  std::string registration_key_file;
  // Loaded from registration_key_file: credentials for the accounts this
  // run creates, as the operator's sign-up service would issue them.
  std::optional<RegistrationKey> registration;
};

void AddFlags(FlagSet* flags, Config* c) {
  flags->String("server", &c->server, "log server address");
  c->tls.AddFlags(flags);
  flags->String("registration_key", &c->registration_key_file,
                "for a log that requires registration: the registration key, "
                "to issue each new account's credential as the sign-up "
                "service would");
  flags->String("log_key", &c->log_key_text,
                "the log key (\"<verifier key>,vrf=<VRF key>\")");
  flags->String("prefix", &c->prefix, "account id prefix (default: random)");
  flags->Uint64("writers", &c->writers, "concurrent writers");
  flags->Uint64("readers", &c->readers,
                "concurrent readers (0: no read phase)");
  flags->Uint64("writes", &c->writes,
                "write this many records, all signed before the timed phase "
                "(0: sign as they go, for --write_for)");
  flags->Uint64("batch", &c->batch,
                "records per timed write call with --writes: 1 sends each by "
                "AddDevice, 2..100 by AppendRecords (a front end writing for "
                "many accounts)");
  flags->Duration("write_for", &c->write_for,
                  "length of the write phase without --writes");
  flags->Duration("read_for", &c->read_for, "length of the read phase");
  flags->Bool("wait_for_checkpoint", &c->wait_for_checkpoint,
              "timed writes ask to be answered once a signed checkpoint "
              "covers them: their latency is then write to checkpoint");
  flags->Uint64("read_batch", &c->read_batch,
                "accounts per read call: 1 looks each up by LookupAccount, "
                "2..100 by LookupAccounts (a client monitoring its "
                "contacts); CPU per op is then per account");
  flags->Bool("verify_reads", &c->verify_reads,
              "verify each lookup (a client's cost); false: only fetch it "
              "(the server's)");
  flags->Uint64("preload", &c->preload,
                "first append this many records (signed beforehand, 100 per "
                "AppendRecords call), untimed, so reads run against a large "
                "log");
  flags->Uint64("preload_devices", &c->preload_devices,
                "devices each preloaded account gets (1..100; 1: one VRF "
                "proof per record, the slowest preload)");
  flags->Uint64("server_pid", &c->server_pid,
                "the server's process id, to report its CPU per operation");
  flags->Uint64("cosigned_quorum", &c->cosigned_quorum,
                "during a --write_for phase, also measure how long after a "
                "write is acknowledged the log serves a checkpoint covering "
                "it with this many cosignatures (a probe write every 100 ms; "
                "0: not measured)");
  flags->Uint64("witness_pid", &c->witness_pid,
                "a witness process on this machine: report its CPU per "
                "entry written");
  flags->Uint64("samples", &c->samples,
                "acknowledged records to prove included");
  flags->Uint64("devices_per_account", &c->devices_per_account,
                "devices each written account gets (1..100)");
  flags->String("acked_out", &c->acked_out,
                "write every acknowledged record to this file, one JSON "
                "object per line: {\"leaf_index\":N,\"leaf_hash\":\"HEX\"}");
}

// This machine's limits, measured now on one core.
struct Limits {
  double ed25519_verify_us = 0;
  double sha256_leaf_us = 0;
};

Limits MeasureLimits() {
  Limits l;
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::string message(200, 'm');
  std::string sig = key.Sign(message);
  int n = 0;
  absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Milliseconds(300)) {
    for (int i = 0; i < 20; ++i, ++n) {
      if (!key.public_key().Verify(message, sig)) abort();
    }
  }
  l.ed25519_verify_us = absl::ToDoubleMicroseconds(absl::Now() - start) / n;
  std::string leaf(kLeafSize, 'l');
  n = 0;
  start = absl::Now();
  while (absl::Now() - start < absl::Milliseconds(100)) {
    for (int i = 0; i < 1000; ++i, ++n) HashLeaf(leaf);
  }
  l.sha256_leaf_us = absl::ToDoubleMicroseconds(absl::Now() - start) / n;
  return l;
}

// The server's CPU time (user + system), if --server_pid names one.
std::optional<absl::Duration> ServerCpu(uint64_t pid) {
  if (pid == 0) return std::nullopt;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> f =
      absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
  uint64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return std::nullopt;
  }
  return absl::Seconds(static_cast<double>(utime + stime) /
                       sysconf(_SC_CLK_TCK));
}

// The run's shared state: the client, failures, what was written.
struct LoadRun {
  const Config& config;
  LogPublicKey log_key;
  std::unique_ptr<LogClient> client;
  Limits limits;
  std::atomic<int> failures{0};
  // Lookup calls answered UNAVAILABLE and sent again (a read replica behind
  // a load balancer that has not caught up, or restarted).
  std::atomic<int> unavailable{0};
  std::mutex mu;
  std::vector<Written> written;
  std::vector<std::string> accounts;

  void Fail(const std::string& what) {
    if (failures.fetch_add(1) < 10) {
      std::cerr << "ktlog-loadgen: FAILED: " << what << "\n";
    }
  }

  // "server CPU X us/op = Y Ed25519 verifications" for `ops` operations
  // since `cpu_before`, or "" without --server_pid.
  std::string CpuPerOp(std::optional<absl::Duration> cpu_before,
                       size_t ops) const {
    std::optional<absl::Duration> now = ServerCpu(config.server_pid);
    if (!cpu_before.has_value() || !now.has_value() || ops == 0) return "";
    double us = absl::ToDoubleMicroseconds(*now - *cpu_before) / ops;
    return absl::StrFormat(
        "; server CPU %.0f us/op = %.2f Ed25519 verifications = %.0f leaf "
        "hashes",
        us, us / limits.ed25519_verify_us, us / limits.sha256_leaf_us);
  }
};

// Record `d` (version d + 1) of account `id`, signed by `key`; the first
// with its credential under `registration` (if any), valid for an hour.
Signed MakeRecord(const std::string& id, uint64_t d,
                  const Ed25519PrivateKey& key,
                  const std::optional<RegistrationKey>& registration) {
  DeviceRecord r;
  r.account_id = id;
  r.device_id = absl::StrCat("device", d);
  r.key = Sha256(absl::StrCat(id, d)).bytes();
  r.account_version = d + 1;
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.Sign(key);
  Signed out{id, r.Encode(), d == 0, ""};
  if (d == 0 && registration.has_value()) {
    out.credential = registration->CredentialFor(id, key.public_key().bytes(),
                                                 r.timestamp_ms / 1000 + 3600);
  }
  return out;
}

// `n` records of accounts `prefix`-W-A with `devices` devices each, signed
// on every core, dealt out to `writers` queues (an account's records stay
// in one queue, in order).
std::vector<std::vector<Signed>> Presign(
    const std::string& prefix, uint64_t n, uint64_t devices, uint64_t writers,
    const std::optional<RegistrationKey>& registration) {
  std::vector<std::vector<Signed>> queues(writers);
  uint64_t accounts = (n + devices - 1) / devices;
  for (uint64_t a = 0; a < accounts; ++a) {
    std::string id = absl::StrCat(prefix, "-", a);
    for (uint64_t d = 0; d < devices && a * devices + d < n; ++d) {
      queues[a % writers].push_back(Signed{id, "", d == 0});
    }
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < cores; ++c) {
    threads.emplace_back([&, c] {
      for (uint64_t w = c; w < writers; w += cores) {
        std::unique_ptr<Ed25519PrivateKey> key;
        uint64_t d = 0;
        for (Signed& s : queues[w]) {
          if (s.first) {
            key = std::make_unique<Ed25519PrivateKey>(
                Ed25519PrivateKey::Generate());
            d = 0;
          }
          s = MakeRecord(s.account_id, d++, *key, registration);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return queues;
}

// Notes an acknowledged record as written (and timed, if `lat`).
void Acknowledged(LoadRun* run, Latencies* lat, absl::Duration took,
                  const Signed& s, uint64_t leaf_index, const Hash& leaf_hash) {
  if (lat == nullptr) return;
  lat->Add(absl::ToDoubleMilliseconds(took));
  std::lock_guard<std::mutex> l(run->mu);
  run->written.push_back(Written{leaf_index, leaf_hash, s.account_id});
  if (s.first) run->accounts.push_back(s.account_id);
}

// Sends `records` in one call: AddDevice for one, AppendRecords for more.
// Timed writes wait for their checkpoint with --wait_for_checkpoint.
bool Send(LoadRun* run, Latencies* lat, absl::Span<const Signed> records) {
  const bool wait = lat != nullptr && run->config.wait_for_checkpoint;
  absl::Time t0 = absl::Now();
  if (records.size() == 1) {
    auto w = run->client->Write(Operation::kAddDevice, records[0].bytes, wait,
                                records[0].credential);
    if (!w.ok()) {
      run->Fail(absl::StrCat("write: ", w.status().ToString()));
      return false;
    }
    Acknowledged(run, lat, absl::Now() - t0, records[0], w->leaf_index,
                 w->leaf_hash);
    return true;
  }
  std::vector<std::string> bytes, credentials;
  for (const Signed& s : records) {
    bytes.push_back(s.bytes);
    credentials.push_back(s.credential);
  }
  auto w = run->client->AppendRecords(bytes, wait, credentials);
  if (!w.ok()) {
    run->Fail(absl::StrCat("AppendRecords: ", w.status().ToString()));
    return false;
  }
  if (wait && w->checkpoint_note.empty()) {
    run->Fail("AppendRecords: no checkpoint covered the records in time");
    return false;
  }
  absl::Duration took = absl::Now() - t0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!w->outcomes[i].ok()) {
      run->Fail(absl::StrCat("AppendRecords: record ", i, ": ",
                             w->outcomes[i].status().ToString()));
      return false;
    }
    Acknowledged(run, lat, took, records[i], w->outcomes[i]->leaf_index,
                 w->outcomes[i]->leaf_hash);
  }
  return true;
}

// Sends every queue from its own thread, `batch` records per call.
void SendAll(LoadRun* run, Latencies* lat,
             const std::vector<std::vector<Signed>>& queues, uint64_t batch) {
  std::vector<std::thread> threads;
  for (const std::vector<Signed>& q : queues) {
    threads.emplace_back([run, lat, &q, batch] {
      absl::Span<const Signed> rest(q);
      while (!rest.empty()) {
        size_t n = std::min<size_t>(batch, rest.size());
        if (!Send(run, lat, rest.subspan(0, n))) return;
        rest.remove_prefix(n);
      }
    });
  }
  for (auto& t : threads) t.join();
}

// One writer signing as it goes, until `stop`.
void TimedWriter(LoadRun* run, Latencies* lat, uint64_t t, absl::Time stop) {
  const Config& c = run->config;
  for (int a = 0; absl::Now() < stop; ++a) {
    Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
    std::string id = absl::StrCat(c.prefix, "-", t, "-", a);
    for (uint64_t d = 0; d < c.devices_per_account && absl::Now() < stop; ++d) {
      Signed s = MakeRecord(id, d, key, c.registration);
      if (!Send(run, lat, absl::MakeConstSpan(&s, 1))) return;
    }
  }
}

// Preloading sends the largest calls AppendRecords takes (it is untimed; a
// server with a per-address write limit below that burst refuses them).
constexpr uint64_t kPreloadBatch = kMaxRecordsPerAppend;

// Preloads are signed and sent in chunks: a record signed long before it
// is sent would be refused (its timestamp more than the log's
// --max_record_skew old: a 10^7 preload takes about an hour), and the
// chunk, not the whole preload, is held in memory.
constexpr uint64_t kPreloadChunk = 500000;

void Preload(LoadRun* run) {
  const Config& c = run->config;
  absl::Duration signing, appending;
  for (uint64_t done = 0, chunk = 0; done < c.preload; ++chunk) {
    uint64_t n = std::min(kPreloadChunk, c.preload - done);
    absl::Time start = absl::Now();
    std::vector<std::vector<Signed>> queues =
        Presign(absl::StrCat(c.prefix, "-pre", chunk), n, c.preload_devices, 64,
                c.registration);
    absl::Time signed_at = absl::Now();
    SendAll(run, nullptr, queues, kPreloadBatch);
    signing += signed_at - start;
    appending += absl::Now() - signed_at;
    done += n;
  }
  std::cout << absl::StrFormat(
      "preloaded: %d records (signed in %.1f s, appended in %.1f s)\n",
      c.preload, absl::ToDoubleSeconds(signing),
      absl::ToDoubleSeconds(appending));
}

// Every 100 ms until `stop`: writes a record of a new account and times
// how long after the log acknowledged it a checkpoint covering it is
// served with `quorum` cosignatures (polled every 2 ms).
void CosignedProbe(LoadRun* run, Latencies* lat, absl::Time stop) {
  const Config& c = run->config;
  for (int i = 0; absl::Now() < stop; ++i) {
    absl::Time next = absl::Now() + absl::Milliseconds(100);
    Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
    Signed s = MakeRecord(absl::StrCat(c.prefix, "-probe-", i), 0, key,
                          c.registration);
    absl::StatusOr<LogClient::WriteResult> w =
        run->client->Write(Operation::kAddDevice, s.bytes, false, s.credential);
    if (!w.ok()) {
      run->Fail(absl::StrCat("probe write: ", w.status().ToString()));
      return;
    }
    absl::Time acked = absl::Now();
    for (;;) {
      absl::StatusOr<std::string> note =
          run->client->GetCheckpoint(static_cast<uint32_t>(c.cosigned_quorum));
      absl::StatusOr<LogCheckpoint> cp =
          note.ok() ? OpenLogCheckpoint(*note, run->log_key.checkpoint_key)
                    : note.status();
      if (cp.ok() && cp->size > w->leaf_index) break;
      if (absl::Now() > acked + absl::Seconds(30)) {
        run->Fail("no cosigned checkpoint covered a probe within 30 s");
        return;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    lat->Add(absl::ToDoubleMilliseconds(absl::Now() - acked));
    absl::SleepFor(next - absl::Now());
  }
}

void WritePhase(LoadRun* run) {
  const Config& c = run->config;
  Latencies lat;
  std::vector<std::vector<Signed>> queues;
  if (c.writes > 0) {
    queues = Presign(c.prefix, c.writes, c.devices_per_account, c.writers,
                     c.registration);
  }
  std::optional<absl::Duration> cpu = ServerCpu(c.server_pid);
  std::optional<absl::Duration> witness_cpu = ServerCpu(c.witness_pid);
  absl::Time start = absl::Now(), stop = start + c.write_for;
  Latencies cosigned;
  if (c.writes > 0) {
    SendAll(run, &lat, queues, c.batch);
  } else {
    std::vector<std::thread> threads;
    for (uint64_t t = 0; t < c.writers; ++t) {
      threads.emplace_back(TimedWriter, run, &lat, t, stop);
    }
    if (c.cosigned_quorum > 0) {
      threads.emplace_back(CosignedProbe, run, &cosigned, stop);
    }
    for (auto& t : threads) t.join();
  }
  std::cout << (c.wait_for_checkpoint ? "writes (until covered by a signed "
                                        "checkpoint): "
                                      : "writes: ")
            << lat.Summary(absl::Now() - start)
            << run->CpuPerOp(cpu, lat.ms.size()) << "\n";
  if (c.cosigned_quorum > 0) {
    std::cout << "write acknowledged -> checkpoint cosigned by "
              << c.cosigned_quorum << ": " << cosigned.Summary(c.write_for)
              << "\n";
  }
  std::optional<absl::Duration> witness_now = ServerCpu(c.witness_pid);
  if (witness_cpu.has_value() && witness_now.has_value() && !lat.ms.empty()) {
    double us = absl::ToDoubleMicroseconds(*witness_now - *witness_cpu) /
                (lat.ms.size() + cosigned.ms.size());
    std::cout << absl::StrFormat(
        "witness CPU %.1f us/entry = %.2f Ed25519 verifications\n", us,
        us / run->limits.ed25519_verify_us);
  }
  if (c.acked_out.empty()) return;
  std::string lines;
  for (const Written& w : run->written) {
    absl::StrAppend(&lines, "{\"leaf_index\":", w.leaf_index,
                    ",\"leaf_hash\":\"", w.leaf_hash.ToHex(), "\"}\n");
  }
  absl::Status s = WriteFileAtomically(c.acked_out, lines, 0644);
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

// One read call: the lookups of `ids` (LookupAccount for one,
// LookupAccounts for more), each verified if the run asks for it.
void LookUp(LoadRun* run, Latencies* lat, const LogCheckpoint& cp,
            const std::vector<std::string>& ids) {
  bool anchor = run->config.verify_reads;
  absl::Time t0 = absl::Now();
  std::vector<absl::StatusOr<AccountLookupAnswer>> answers;
  for (int attempt = 0;; ++attempt) {
    answers.clear();
    if (ids.size() == 1) {
      answers.push_back(run->client->LookupAccount(ids[0], cp.size, anchor));
    } else {
      std::vector<LookupAsk> asks;
      for (const std::string& id : ids) asks.push_back({id, anchor});
      answers = run->client->LookupAccounts(asks, cp.size);
    }
    bool unavailable = absl::c_any_of(
        answers, [](const auto& a) { return absl::IsUnavailable(a.status()); });
    if (!unavailable || attempt == 20) break;
    run->unavailable.fetch_add(1);
    absl::SleepFor(absl::Milliseconds(50));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!answers[i].ok()) {
      run->Fail(absl::StrCat("lookup: ", answers[i].status().ToString()));
      return;
    }
    if (!run->config.verify_reads) continue;
    auto verified =
        VerifyAccountLookup(cp, run->log_key.vrf_key, ids[i], *answers[i], "");
    if (!verified.ok() || !verified->state.has_value()) {
      run->Fail(absl::StrCat("lookup of ", ids[i], " does not verify: ",
                             verified.status().ToString()));
    }
  }
  lat->Add(absl::ToDoubleMilliseconds(absl::Now() - t0));
}

void ReadPhase(LoadRun* run, const LogCheckpoint& cp) {
  Latencies lat;
  std::optional<absl::Duration> cpu = ServerCpu(run->config.server_pid);
  absl::Time start = absl::Now(), stop = start + run->config.read_for;
  size_t batch = std::min<size_t>(run->config.read_batch, run->accounts.size());
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < run->config.readers; ++t) {
    threads.emplace_back([run, &lat, &cp, stop, t, batch] {
      std::mt19937_64 rng(t);
      while (absl::Now() < stop && run->failures.load() == 0) {
        // Distinct accounts: a batch names each once.
        size_t first = rng() % run->accounts.size();
        std::vector<std::string> ids;
        for (size_t i = 0; i < batch; ++i) {
          ids.push_back(run->accounts[(first + i) % run->accounts.size()]);
        }
        LookUp(run, &lat, cp, ids);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::cout << (run->config.verify_reads ? "verified lookups" : "lookups");
  if (batch > 1) {
    std::cout << " in calls of " << batch
              << " (ops and latency per call, server CPU per account)";
  }
  std::cout << ": " << lat.Summary(absl::Now() - start)
            << run->CpuPerOp(cpu, lat.ms.size() * batch);
  if (run->unavailable.load() > 0) {
    std::cout << "; " << run->unavailable.load()
              << " calls answered UNAVAILABLE were sent again";
  }
  std::cout << "\n";
}

// Checks the flags; a message for the user, or "".
std::string CheckConfig(Config* c) {
  if (c->devices_per_account < 1 || c->devices_per_account > 100) {
    return "--devices_per_account must be 1..100";
  }
  if (c->preload_devices < 1 || c->preload_devices > 100) {
    return "--preload_devices must be 1..100";
  }
  if (c->writers == 0) return "--writers must be at least 1";
  if (c->batch < 1 || c->batch > kMaxRecordsPerAppend) {
    return absl::StrCat("--batch must be 1..", kMaxRecordsPerAppend);
  }
  if (c->read_batch < 1 || c->read_batch > kMaxLookupsPerCall) {
    return absl::StrCat("--read_batch must be 1..", kMaxLookupsPerCall);
  }
  if (c->batch > 1 && c->writes == 0) {
    return "--batch needs --writes (records signed before the timed phase)";
  }
  if (c->prefix.empty()) {
    c->prefix = absl::StrCat("load", RealClock::Get()->NowMillis());
  }
  return "";
}

int Run(int argc, char** argv) {
  Config c;
  FlagSet flags(
      "usage: ktlog-loadgen --server=HOST:PORT --log_key=LOG_KEY "
      "[flags]\n\n"
      "Writes signed records from concurrent writers, then looks accounts up\n"
      "from concurrent readers; verifies everything; prints throughput,\n"
      "latency percentiles and (with --server_pid) the server's CPU per\n"
      "operation against this machine's Ed25519 and SHA-256 speeds. Exit 1\n"
      "if any check fails.");
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
  if (std::string bad = CheckConfig(&c); !bad.empty()) {
    std::cerr << "ktlog-loadgen: " << bad << "\n";
    return 2;
  }
  if (!c.registration_key_file.empty()) {
    absl::StatusOr<RegistrationKey> key =
        RegistrationKey::Load(c.registration_key_file);
    if (!key.ok()) {
      std::cerr << "ktlog-loadgen: --registration_key: "
                << key.status().message() << "\n";
      return 1;
    }
    c.registration = *std::move(key);
  }
  auto credentials = GrpcChannelCredentials(c.tls, "ktlog-loadgen");
  if (!credentials.ok()) {
    std::cerr << "ktlog-loadgen: " << credentials.status().message() << "\n";
    return 1;
  }
  LoadRun run{c, *log_key,
              LogClient::Create(c.server, absl::Seconds(30), *credentials)};
  run.limits = MeasureLimits();
  std::cout << absl::StrFormat(
      "machine: one Ed25519 verification %.1f us, one leaf hash (SHA-256 of "
      "%d bytes) %.2f us, on one core\n",
      run.limits.ed25519_verify_us, kLeafSize, run.limits.sha256_leaf_us);
  if (c.preload > 0) Preload(&run);
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
