// Metrics an operator scrapes: counters, gauges and histograms, rendered in
// the Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). The
// metrics ktlog exports, and the alerts to set on them, are listed in
// docs/operations.md ("Metrics").
//
// A metric is a family (a name, a help text, a type) and, per set of label
// values, one child. Components ask the registry for their children once
// (get-or-create: the same name and labels give the same object) and
// update them on their hot paths without locks (counters, gauges) or under
// one short lock (histograms). A gauge that is cheaper to read when
// scraped than to keep current (the tree size, the data dir's size) is a
// callback; only the owner of everything a callback reads may add it, and
// the registry must not be rendered once that is gone.
//
// Thread-safe.
#ifndef KTLOG_CORE_UTIL_METRICS_H_
#define KTLOG_CORE_UTIL_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace ktlog {

// Label names and values, in the order the family declares the names.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A count that only grows.
class Counter {
 public:
  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (each bucket counts the
// observations <= its bound; a last one, +Inf, counts all), with their sum.
class Histogram {
 public:
  // `bounds`: increasing, finite.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_
      ABSL_GUARDED_BY(mu_);  // per bucket, not cumulative
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

// Bucket bounds for durations in seconds, 1 ms to 30 s.
const std::vector<double>& DurationBuckets();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Get-or-create the child of family `name` with `labels`. The first call
  // for a name fixes its help and type; a later call for the same name with
  // another type is a programming error (the process aborts). Names and
  // label names must match [a-zA-Z_:][a-zA-Z0-9_:]*.
  Counter* GetCounter(absl::string_view name, absl::string_view help,
                      const MetricLabels& labels = {});
  Gauge* GetGauge(absl::string_view name, absl::string_view help,
                  const MetricLabels& labels = {});
  Histogram* GetHistogram(absl::string_view name, absl::string_view help,
                          const std::vector<double>& bounds,
                          const MetricLabels& labels = {});
  // A gauge whose value `read` computes at each scrape (a NaN leaves the
  // sample out). `read` runs under the registry's lock: it must not touch
  // the registry.
  void AddGaugeCallback(absl::string_view name, absl::string_view help,
                        const MetricLabels& labels,
                        std::function<double()> read);

  // Every family, sorted by name, each child sorted by its labels, in the
  // text format; ends with a newline (empty for no metrics).
  std::string Render() const;

  // `registry`, or where a component given none puts its metrics: a
  // registry never rendered. Components must not add callbacks to it.
  static MetricsRegistry* OrDiscard(MetricsRegistry* registry);

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Child {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    Type type;
    std::string help;
    std::map<MetricLabels, Child> children;
  };

  // The child for `labels` of family `name` of `type` (made if new).
  Child* Find(absl::string_view name, absl::string_view help, Type type,
              const MetricLabels& labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family, std::less<>> families_ ABSL_GUARDED_BY(mu_);
};

// A counter family with a `code` label (a status code's name, as
// absl::StatusCodeToString writes it) after `labels`: each code's child is
// made at its first count and then counted without a lock, for the paths
// every call or record takes.
class CodeCounters {
 public:
  // Borrows `registry`.
  CodeCounters(MetricsRegistry* registry, std::string name, std::string help,
               MetricLabels labels = {});
  void Increment(absl::StatusCode code, uint64_t n = 1);

 private:
  static constexpr int kCodes = 17;  // OK .. UNAUTHENTICATED
  MetricsRegistry* const registry_;
  const std::string name_, help_;
  const MetricLabels labels_;
  std::atomic<Counter*> by_code_[kCodes] = {};
};

// How the text format writes a sample value: an integral value as an
// integer, others in the shortest form that reads back exactly; "NaN",
// "+Inf", "-Inf".
std::string FormatMetricValue(double v);

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_METRICS_H_
