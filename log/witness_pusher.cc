#include "log/witness_pusher.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/note/add_checkpoint.h"
#include "core/util/logging.h"
#include "core/util/status_macros.h"
#include "httplib.h"

namespace ktlog {
namespace {

// "http[s]://host:port" and "/prefix" of a witness URL.
absl::Status SplitUrl(const std::string& url, std::string* origin,
                      std::string* prefix) {
  size_t scheme = absl::StartsWith(url, "http://")    ? 7
                  : absl::StartsWith(url, "https://") ? 8
                                                      : 0;
  size_t slash = scheme == 0 ? std::string::npos : url.find('/', scheme);
  *origin = url.substr(0, slash);
  *prefix = slash == std::string::npos ? "" : url.substr(slash);
  while (absl::EndsWith(*prefix, "/")) prefix->pop_back();
  if (scheme == 0 || origin->size() <= scheme) {
    return absl::InvalidArgumentError(absl::StrCat(
        "witness URL \"", url, "\" is not http[s]://host:port[/prefix]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<PushedWitness>> ParseWitnessUrls(
    absl::string_view flag, const std::vector<NoteVerifierKey>& witnesses) {
  std::vector<PushedWitness> out;
  for (absl::string_view item : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    const NoteVerifierKey* found = nullptr;
    int matches = 0;
    for (const NoteVerifierKey& w : witnesses) {
      if (w.name == kv.first) {
        found = &w;
        ++matches;
      }
    }
    if (matches != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--witness_urls: \"", kv.first, "\" names ",
          matches == 0 ? "no witness in --witness_keys"
                       : "more than one witness in --witness_keys"));
    }
    for (const PushedWitness& p : out) {
      if (p.key.key_id == found->key_id && p.key.name == found->name) {
        return absl::InvalidArgumentError(
            absl::StrCat("--witness_urls names ", kv.first, " twice"));
      }
    }
    std::string origin, prefix;
    RETURN_IF_ERROR(SplitUrl(std::string(kv.second), &origin, &prefix));
    out.push_back(PushedWitness{*found, std::string(kv.second)});
  }
  return out;
}

WitnessPusher::WitnessPusher(const CheckpointPublisher* publisher,
                             LogQueries* queries, Cosignatures* cosignatures,
                             PusherOptions options)
    : publisher_(publisher),
      queries_(queries),
      cosignatures_(cosignatures),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<WitnessPusher>> WitnessPusher::Start(
    const CheckpointPublisher* publisher, LogQueries* queries,
    Cosignatures* cosignatures, std::vector<PushedWitness> witnesses,
    PusherOptions options) {
  for (const PushedWitness& w : witnesses) {
    std::string origin, prefix;
    RETURN_IF_ERROR(SplitUrl(w.url, &origin, &prefix));
  }
  std::unique_ptr<WitnessPusher> p(
      new WitnessPusher(publisher, queries, cosignatures, std::move(options)));
  p->witnesses_ = std::move(witnesses);
  for (const PushedWitness& w : p->witnesses_) {
    p->threads_.emplace_back([raw = p.get(), &w] { raw->Run(w); });
  }
  return p;
}

WitnessPusher::~WitnessPusher() { Stop(); }

void WitnessPusher::Stop() {
  stop_.store(true);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WitnessPusher::Run(const PushedWitness& w) {
  std::string origin, prefix;
  (void)SplitUrl(w.url, &origin, &prefix);  // checked by Start
  httplib::Client http(origin);
  if (absl::StartsWith(origin, "https://")) {
    http.enable_server_certificate_verification(true);
    if (!options_.ca_file.empty()) {
      http.set_ca_cert_path(options_.ca_file.c_str());
    }
  }
  int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(options_.timeout));
  http.set_connection_timeout(seconds);
  http.set_read_timeout(seconds);
  http.set_write_timeout(seconds);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  ThrottledLog failed(Severity::kWarning,
                      absl::StrCat("pushing to witness ", w.key.name, " at ",
                                   w.url, " failed"));
  // The size this witness cosigned last, as far as the log knows: 0 until
  // its first answer says otherwise (its 409 carries it).
  uint64_t old = 0, sequence = 0;
  while (!stop_.load()) {
    std::shared_ptr<const PublishedCheckpoint> cp = publisher_->WaitForNewer(
        sequence, absl::Now() + absl::Milliseconds(250));
    if (cp == nullptr || cp->sequence <= sequence) continue;
    sequence = cp->sequence;
    for (int attempt = 0; attempt < 2 && !stop_.load(); ++attempt) {
      AddCheckpointRequest req{old, {}, cp->note};
      if (old > cp->checkpoint.size) {
        failed.Record(absl::StrCat("the witness cosigned size ", old,
                                   ", beyond the log's ", cp->checkpoint.size));
        break;
      }
      if (old > 0) {
        absl::StatusOr<std::vector<Hash>> proof =
            queries_->ConsistencyProof(old, cp->checkpoint.size);
        if (!proof.ok()) {
          failed.Record(proof.status().ToString());
          break;
        }
        req.proof = *std::move(proof);
      }
      httplib::Result r =
          http.Post(absl::StrCat(prefix, "/add-checkpoint"),
                    FormatAddCheckpoint(req), "text/plain; charset=utf-8");
      if (!r) {
        failed.Record(httplib::to_string(r.error()));
        break;
      }
      if (r->status == 409 &&
          r->get_header_value("Content-Type") == "text/x.tlog.size") {
        uint64_t size = 0;
        if (!absl::SimpleAtoi(absl::StripSuffix(r->body, "\n"), &size)) {
          failed.Record("a 409 without a size");
          break;
        }
        if (size == old) break;  // this checkpoint was cosigned before
        if (size > cp->checkpoint.size) {
          // Beyond the log: not a size this log signed (a witness that
          // follows another log of this name, or a forged answer).
          failed.Record(absl::StrCat("the witness says it cosigned size ", size,
                                     ", beyond the log's ",
                                     cp->checkpoint.size));
          old = 0;
          break;
        }
        old = size;
        continue;  // again, with a proof from the witness's size
      }
      if (r->status != 200) {
        failed.Record(absl::StrCat("HTTP ", r->status, ": ",
                                   absl::StripSuffix(r->body, "\n")));
        break;
      }
      absl::StatusOr<uint32_t> added = cosignatures_->Add(cp->note + r->body);
      if (!added.ok()) {
        failed.Record(absl::StrCat("its answer was refused: ",
                                   added.status().ToString()));
        break;
      }
      accepted_.fetch_add(1);
      old = cp->checkpoint.size;
      break;
    }
  }
}

}  // namespace ktlog
