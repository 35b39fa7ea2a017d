#include "core/util/metrics.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(MetricsTest, RendersEveryTypeSortedWithHelpAndType) {
  MetricsRegistry r;
  r.GetCounter("b_total", "Bs.", {{"code", "OK"}})->Increment(3);
  r.GetCounter("b_total", "Bs.", {{"code", "ABORTED"}})->Increment();
  r.GetGauge("a_size", "The size.")->Set(1234567);
  Histogram* h = r.GetHistogram("c_seconds", "Cs.", {0.5, 1});
  h->Observe(0.25);
  h->Observe(0.5);  // a bound counts into its own bucket
  h->Observe(7);
  r.AddGaugeCallback("d_age_seconds", "Age.", {{"witness", "w1"}},
                     [] { return 2.5; });
  EXPECT_EQ(r.Render(),
            "# HELP a_size The size.\n"
            "# TYPE a_size gauge\n"
            "a_size 1234567\n"
            "# HELP b_total Bs.\n"
            "# TYPE b_total counter\n"
            "b_total{code=\"ABORTED\"} 1\n"
            "b_total{code=\"OK\"} 3\n"
            "# HELP c_seconds Cs.\n"
            "# TYPE c_seconds histogram\n"
            "c_seconds_bucket{le=\"0.5\"} 2\n"
            "c_seconds_bucket{le=\"1\"} 2\n"
            "c_seconds_bucket{le=\"+Inf\"} 3\n"
            "c_seconds_sum 7.75\n"
            "c_seconds_count 3\n"
            "# HELP d_age_seconds Age.\n"
            "# TYPE d_age_seconds gauge\n"
            "d_age_seconds{witness=\"w1\"} 2.5\n");
}

TEST(MetricsTest, GetOrCreateReturnsTheSameChild) {
  MetricsRegistry r;
  Counter* a = r.GetCounter("x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(r.GetCounter("x_total", "X.", {{"k", "v"}}), a);
  EXPECT_NE(r.GetCounter("x_total", "X.", {{"k", "w"}}), a);
  a->Increment(2);
  EXPECT_EQ(r.GetCounter("x_total", "X.", {{"k", "v"}})->value(), 2u);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.GetCounter("e_total", "Back\\slash and\nnewline.",
               {{"witness", "a\"b\\c\nd"}})
      ->Increment();
  EXPECT_EQ(r.Render(),
            "# HELP e_total Back\\\\slash and\\nnewline.\n"
            "# TYPE e_total counter\n"
            "e_total{witness=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, HistogramWithLabelsPutsLeLast) {
  MetricsRegistry r;
  r.GetHistogram("h_seconds", "H.", {0.001}, {{"method", "LookupAccount"}})
      ->Observe(0.0005);
  EXPECT_EQ(r.Render(),
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{method=\"LookupAccount\",le=\"0.001\"} 1\n"
            "h_seconds_bucket{method=\"LookupAccount\",le=\"+Inf\"} 1\n"
            "h_seconds_sum{method=\"LookupAccount\"} 0.0005\n"
            "h_seconds_count{method=\"LookupAccount\"} 1\n");
}

TEST(MetricsTest, CodeCountersLabelByStatusCode) {
  MetricsRegistry r;
  CodeCounters calls(&r, "c_total", "Calls.", {{"method", "M"}});
  calls.Increment(absl::StatusCode::kOk);
  calls.Increment(absl::StatusCode::kOk, 2);
  calls.Increment(absl::StatusCode::kPermissionDenied);
  calls.Increment(static_cast<absl::StatusCode>(99));  // counted as UNKNOWN
  EXPECT_EQ(r.Render(),
            "# HELP c_total Calls.\n"
            "# TYPE c_total counter\n"
            "c_total{method=\"M\",code=\"OK\"} 3\n"
            "c_total{method=\"M\",code=\"PERMISSION_DENIED\"} 1\n"
            "c_total{method=\"M\",code=\"UNKNOWN\"} 1\n");
}

TEST(MetricsTest, NanCallbackLeavesTheSampleOut) {
  MetricsRegistry r;
  r.AddGaugeCallback("n", "N.", {},
                     [] { return std::numeric_limits<double>::quiet_NaN(); });
  EXPECT_EQ(r.Render(), "# HELP n N.\n# TYPE n gauge\n");
}

TEST(MetricsTest, FormatsValuesExactlyAndShort) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()),
            "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsDeathTest, OneNameHasOneType) {
  MetricsRegistry r;
  r.GetCounter("t", "T.");
  EXPECT_DEATH(r.GetGauge("t", "T."), "registered with two types");
  EXPECT_DEATH(r.GetCounter("1bad", "B."), "bad metric name");
  EXPECT_DEATH(r.GetCounter("ok", "B.", {{"le", "x"}}), "bad label name");
}

}  // namespace
}  // namespace ktlog
