#include "core/util/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/util/logging.h"

namespace ktlog {
namespace {

bool ValidName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void Misuse(absl::string_view what) {
  LogError("metrics: ", what);
  std::abort();
}

// Label values and help texts escape '\' and newline; label values '"' too.
std::string Escape(absl::string_view s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}` (with `extra` last), or "" for no labels.
std::string LabelText(const MetricLabels& labels,
                      const std::pair<std::string, std::string>* extra) {
  std::string out;
  auto add = [&out](const std::pair<std::string, std::string>& l) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", l.first, "=\"",
                    Escape(l.second, true), "\"");
  };
  for (const auto& l : labels) add(l);
  if (extra != nullptr) add(*extra);
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Misuse("histogram bounds must be finite and increasing");
    }
  }
}

void Histogram::Observe(double v) {
  size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  sum_ += v;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  absl::MutexLock lock(&mu_);
  uint64_t total = 0;
  for (uint64_t c : counts_) {
    total += c;
    s.cumulative.push_back(total);
  }
  s.sum = sum_;
  return s;
}

const std::vector<double>& DurationBuckets() {
  static const std::vector<double>* b =
      new std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                              0.25,  0.5,    1,     2.5,  5,     10,   30};
  return *b;
}

MetricsRegistry::Child* MetricsRegistry::Find(absl::string_view name,
                                              absl::string_view help, Type type,
                                              const MetricLabels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (!ValidName(name)) Misuse(absl::StrCat("bad metric name ", name));
    for (const auto& l : labels) {
      if (!ValidName(l.first) || l.first == "le") {
        Misuse(absl::StrCat("bad label name ", l.first, " on ", name));
      }
    }
    it = families_
             .emplace(std::string(name), Family{type, std::string(help), {}})
             .first;
  } else if (it->second.type != type) {
    Misuse(absl::StrCat("metric ", name, " registered with two types"));
  }
  return &it->second.children[labels];
}

Counter* MetricsRegistry::GetCounter(absl::string_view name,
                                     absl::string_view help,
                                     const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Child* c = Find(name, help, Type::kCounter, labels);
  if (c->counter == nullptr) c->counter = std::make_unique<Counter>();
  return c->counter.get();
}

Gauge* MetricsRegistry::GetGauge(absl::string_view name, absl::string_view help,
                                 const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Child* c = Find(name, help, Type::kGauge, labels);
  if (c->read) Misuse(absl::StrCat("gauge ", name, " is a callback"));
  if (c->gauge == nullptr) c->gauge = std::make_unique<Gauge>();
  return c->gauge.get();
}

Histogram* MetricsRegistry::GetHistogram(absl::string_view name,
                                         absl::string_view help,
                                         const std::vector<double>& bounds,
                                         const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  Child* c = Find(name, help, Type::kHistogram, labels);
  if (c->histogram == nullptr) {
    c->histogram = std::make_unique<Histogram>(bounds);
  } else if (c->histogram->bounds() != bounds) {
    Misuse(absl::StrCat("histogram ", name, " registered with two bounds"));
  }
  return c->histogram.get();
}

void MetricsRegistry::AddGaugeCallback(absl::string_view name,
                                       absl::string_view help,
                                       const MetricLabels& labels,
                                       std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  Child* c = Find(name, help, Type::kGauge, labels);
  if (c->gauge != nullptr || c->read) {
    Misuse(absl::StrCat("gauge ", name, " added twice"));
  }
  c->read = std::move(read);
}

std::string MetricsRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ", Escape(family.help, false),
                    "\n# TYPE ", name, " ",
                    family.type == Type::kCounter ? "counter"
                    : family.type == Type::kGauge ? "gauge"
                                                  : "histogram",
                    "\n");
    for (const auto& [labels, child] : family.children) {
      if (child.counter != nullptr) {
        absl::StrAppend(&out, name, LabelText(labels, nullptr), " ",
                        child.counter->value(), "\n");
      } else if (child.gauge != nullptr || child.read) {
        double v = child.read ? child.read() : child.gauge->value();
        if (std::isnan(v)) continue;
        absl::StrAppend(&out, name, LabelText(labels, nullptr), " ",
                        FormatMetricValue(v), "\n");
      } else if (child.histogram != nullptr) {
        Histogram::Snapshot s = child.histogram->Read();
        const std::vector<double>& bounds = child.histogram->bounds();
        for (size_t i = 0; i < s.cumulative.size(); ++i) {
          std::pair<std::string, std::string> le{
              "le", i < bounds.size() ? FormatMetricValue(bounds[i]) : "+Inf"};
          absl::StrAppend(&out, name, "_bucket", LabelText(labels, &le), " ",
                          s.cumulative[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum", LabelText(labels, nullptr), " ",
                        FormatMetricValue(s.sum), "\n", name, "_count",
                        LabelText(labels, nullptr), " ", s.cumulative.back(),
                        "\n");
      }
    }
  }
  return out;
}

CodeCounters::CodeCounters(MetricsRegistry* registry, std::string name,
                           std::string help, MetricLabels labels)
    : registry_(registry),
      name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)) {}

void CodeCounters::Increment(absl::StatusCode code, uint64_t n) {
  int i = static_cast<int>(code);
  if (i < 0 || i >= kCodes) i = static_cast<int>(absl::StatusCode::kUnknown);
  Counter* counter = by_code_[i].load(std::memory_order_acquire);
  if (counter == nullptr) {
    MetricLabels labels = labels_;
    labels.emplace_back(
        "code", absl::StatusCodeToString(static_cast<absl::StatusCode>(i)));
    counter =
        registry_->GetCounter(name_, help_, labels);  // the same each time
    by_code_[i].store(counter, std::memory_order_release);
  }
  counter->Increment(n);
}

MetricsRegistry* MetricsRegistry::OrDiscard(MetricsRegistry* registry) {
  static MetricsRegistry* discard = new MetricsRegistry();
  return registry != nullptr ? registry : discard;
}

}  // namespace ktlog
