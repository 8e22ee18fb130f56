#include "tools/recbench/report.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tools/recbench/svg_plot.h"

namespace recgrad::recbench {
namespace {

using nlohmann::json;

const std::vector<std::int64_t> kReportedK = {5, 10, 20};

json metrics_json(const recsys::RankingMetrics& m) {
  json j{{"rows", m.rows}, {"mrr", m.mrr}};
  for (const recsys::MetricsAtK& k : m.at_k) {
    j["recall@" + std::to_string(k.k)] = k.recall;
    j["ndcg@" + std::to_string(k.k)] = k.ndcg;
  }
  return j;
}

struct MeanStd {
  double mean = 0, std = 0;
  int n = 0;
};
MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  r.n = static_cast<int>(values.size());
  if (values.empty()) return r;
  for (double v : values) r.mean += v;
  r.mean /= r.n;
  for (double v : values) r.std += (v - r.mean) * (v - r.mean);
  r.std = r.n > 1 ? std::sqrt(r.std / (r.n - 1)) : 0.0;  // sample standard deviation over seeds
  return r;
}

std::string format(double v, int digits = 4) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}
std::string format(const MeanStd& m, int digits = 4) {
  if (m.n == 0) return "-";
  return m.n > 1 ? format(m.mean, digits) + " ± " + format(m.std, digits) : format(m.mean, digits);
}

/// Runs grouped by model, then optimizer (in first-seen order).
std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<const RunRecord*>>>>> grouped(
    const Benchmark& b) {
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<const RunRecord*>>>>> out;
  for (const RunRecord& run : b.runs) {
    auto model = std::find_if(out.begin(), out.end(), [&](const auto& m) { return m.first == run.model; });
    if (model == out.end()) model = out.insert(out.end(), {run.model, {}});
    auto opt = std::find_if(model->second.begin(), model->second.end(),
                            [&](const auto& o) { return o.first == run.optimizer; });
    if (opt == model->second.end()) opt = model->second.insert(model->second.end(), {run.optimizer, {}});
    opt->second.push_back(&run);
  }
  return out;
}

std::string markdown(const Benchmark& b) {
  std::ostringstream md;
  md << "# recbench results: " << b.dataset_name << "\n\n";
  md << b.dataset_description << "  \n";
  md << "git " << b.git_revision << " · " << b.machine << " · started " << b.started_at << "\n\n";
  md << "Test metrics of the best-validation weights (full ranking over all items, ties counted pessimistically), "
        "mean ± sample std over seeds. *Steps* = optimizer steps to the best validation NDCG@10; *to target* = the "
        "first step at which the run reached the same seed's AdamW best validation NDCG@10 (mean over the seeds that "
        "reached it, with how many did); *gain* = relative change of mean test NDCG@10 against AdamW.\n\n";
  md << "| model | optimizer | seeds |";
  for (std::int64_t k : kReportedK) md << " Recall@" << k << " |";
  for (std::int64_t k : kReportedK) md << " NDCG@" << k << " |";
  md << " steps | to target | gain | train s |\n|---|---|---|";
  for (std::size_t i = 0; i < 2 * kReportedK.size() + 4; ++i) md << "---|";
  md << "\n";
  md << "| MostPopular | - | - |";
  for (std::int64_t k : kReportedK) md << " " << format(b.most_popular_test.recall(k)) << " |";
  for (std::int64_t k : kReportedK) md << " " << format(b.most_popular_test.ndcg(k)) << " |";
  md << " - | - | - | - |\n";
  for (const auto& [model, optimizers] : grouped(b)) {
    double adamw_ndcg = -1;
    for (const auto& [opt, runs] : optimizers) {
      if (opt != "adamw") continue;
      std::vector<double> v;
      for (const RunRecord* r : runs) v.push_back(r->result.test.ndcg(10));
      adamw_ndcg = mean_std(v).mean;
    }
    for (const auto& [opt, runs] : optimizers) {
      md << "| " << model << " | " << opt << " | " << runs.size() << " |";
      for (bool recall : {true, false}) {
        for (std::int64_t k : kReportedK) {
          std::vector<double> v;
          for (const RunRecord* r : runs) v.push_back(recall ? r->result.test.recall(k) : r->result.test.ndcg(k));
          md << " " << format(mean_std(v)) << " |";
        }
      }
      std::vector<double> steps, reached, seconds, ndcg;
      for (const RunRecord* r : runs) {
        steps.push_back(static_cast<double>(r->result.best_step));
        if (r->time_to_target >= 0) reached.push_back(static_cast<double>(r->time_to_target));
        seconds.push_back(r->result.train_seconds);
        ndcg.push_back(r->result.test.ndcg(10));
      }
      md << " " << format(mean_std(steps), 0) << " |";
      md << " " << (reached.empty() ? std::string("never") : format(mean_std(reached).mean, 0)) << " ("
         << reached.size() << "/" << runs.size() << ") |";
      if (adamw_ndcg > 0 && opt != "adamw") {
        md << " " << (mean_std(ndcg).mean >= adamw_ndcg ? "+" : "")
           << format(100.0 * (mean_std(ndcg).mean / adamw_ndcg - 1.0), 1) << "% |";
      } else {
        md << " - |";
      }
      md << " " << format(mean_std(seconds).mean, 1) << " |\n";
    }
  }
  bool audited = false;
  for (const RunRecord& r : b.runs) audited = audited || !r.result.audit.empty();
  if (audited) {
    md << "\nAudit (`--audit`): per-parameter records in `audit_<model>_<optimizer>_seed<k>.jsonl`, plots "
          "`audit_sharpness_<model>.svg` and `audit_update_norm_<model>.svg`. Cost per audited step:";
    for (const RunRecord& r : b.runs) {
      md << " " << r.model << "/" << r.optimizer << "/" << r.seed << " " << format(r.result.audit_seconds_per_step, 3)
         << " s;";
    }
    md << "\n";
  }
  md << "\nMost-popular baseline (item counts of the training split): valid NDCG@10 "
     << format(b.most_popular_valid.ndcg(10)) << ", test NDCG@10 " << format(b.most_popular_test.ndcg(10)) << ".\n\n";
  md << "Validation curves: `curve_<model>.svg`.\n\n<details><summary>dataset statistics</summary>\n\n```\n"
     << b.dataset_statistics << "\n```\n</details>\n";
  return md.str();
}

std::string csv(const Benchmark& b) {
  std::ostringstream out;
  out << "model,optimizer,seed,best_step,time_to_target,steps,epochs,train_seconds,stop_reason";
  for (std::int64_t k : kReportedK) out << ",test_recall@" << k << ",test_ndcg@" << k;
  out << ",test_mrr,best_valid_ndcg@10,peak_host_bytes,peak_device_bytes\n";
  for (const RunRecord& r : b.runs) {
    out << r.model << "," << r.optimizer << "," << r.seed << "," << r.result.best_step << "," << r.time_to_target << ","
        << r.result.steps << "," << r.result.epochs << "," << format(r.result.train_seconds, 3) << ","
        << r.result.stop_reason;
    for (std::int64_t k : kReportedK)
      out << "," << format(r.result.test.recall(k), 6) << "," << format(r.result.test.ndcg(k), 6);
    out << "," << format(r.result.test.mrr, 6) << "," << format(r.result.best_valid_ndcg10, 6) << ","
        << static_cast<std::int64_t>(r.peak_host_bytes) << "," << static_cast<std::int64_t>(r.peak_device_bytes)
        << "\n";
  }
  return out.str();
}

json full_json(const Benchmark& b) {
  json j{
      {"dataset", b.dataset_name},
      {"dataset_description", b.dataset_description},
      {"git_revision", b.git_revision},
      {"machine", b.machine},
      {"started_at", b.started_at},
      {"settings", b.settings},
      {"most_popular", {{"valid", metrics_json(b.most_popular_valid)}, {"test", metrics_json(b.most_popular_test)}}}};
  j["runs"] = json::array();
  for (const RunRecord& r : b.runs) {
    json curve = json::array();
    for (const recsys::EvalPoint& p : r.result.curve) {
      curve.push_back({{"step", p.step},
                       {"epoch", p.epoch},
                       {"train_loss", p.train_loss},
                       {"seconds", p.seconds},
                       {"valid", metrics_json(p.valid)}});
    }
    const recsys::TrainerOptions& o = r.options;
    j["runs"].push_back({{"model", r.model},
                         {"optimizer", r.optimizer},
                         {"seed", r.seed},
                         {"model_description", r.model_description},
                         {"optimizer_description", r.optimizer_description},
                         {"config",
                          {{"batch_size", o.batch_size},
                           {"max_length", r.history_length},
                           {"max_epochs", o.max_epochs},
                           {"max_steps", o.max_steps},
                           {"max_minutes", o.max_minutes},
                           {"eval_every", o.eval_every},
                           {"patience", o.patience},
                           {"loss", recsys::loss_name(o.loss)},
                           {"negatives", o.negatives},
                           {"device", o.device.is_cuda() ? "cuda" : "cpu"}}},
                         {"curve", curve},
                         {"best_step", r.result.best_step},
                         {"best_valid", metrics_json(r.result.best_valid)},
                         {"test", metrics_json(r.result.test)},
                         {"time_to_target", r.time_to_target},
                         {"steps", r.result.steps},
                         {"epochs", r.result.epochs},
                         {"stop_reason", r.result.stop_reason},
                         {"train_seconds", r.result.train_seconds},
                         {"total_seconds", r.result.total_seconds},
                         {"resumed", r.result.resumed},
                         {"audit_seconds_per_audited_step", r.result.audit_seconds_per_step},
                         {"peak_host_bytes", r.peak_host_bytes},
                         {"peak_device_bytes", r.peak_device_bytes}});
  }
  return j;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  RG_CHECK(fd >= 0, "recbench: cannot write ", temporary, ": ", std::strerror(errno));
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const bool ok = written == contents.size() && ::fsync(fd) == 0;  // the bytes are on disk before the rename
  const int saved_errno = errno;
  ::close(fd);
  if (!ok) {
    std::filesystem::remove(temporary);
    throw Error(detail::concat("recbench: writing ", temporary, " failed: ", std::strerror(saved_errno)));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary);
    throw Error(detail::concat("recbench: cannot rename ", temporary, " to ", path, ": ", error.message()));
  }
}

std::string write_report(const Benchmark& benchmark, const std::string& folder) {
  std::filesystem::create_directories(folder);
  write_file_atomically(folder + "/results.json", full_json(benchmark).dump(2) + "\n");
  write_file_atomically(folder + "/results.csv", csv(benchmark));
  const std::string table = markdown(benchmark);
  write_file_atomically(folder + "/results.md", table);
  for (const auto& [model, optimizers] : grouped(benchmark)) {
    std::vector<Series> series;
    for (const auto& [opt, runs] : optimizers) {
      for (const RunRecord* r : runs) {
        Series s;
        s.label = opt + " seed " + std::to_string(r->seed);
        for (const recsys::EvalPoint& p : r->result.curve) {
          s.x.push_back(static_cast<double>(p.step));
          s.y.push_back(p.valid.ndcg(10));
        }
        series.push_back(std::move(s));
      }
    }
    write_file_atomically(folder + "/curve_" + model + ".svg",
                          line_chart_svg(model + ": validation NDCG@10", "optimizer steps", "NDCG@10", series));
    // with --audit: the normalized directional sharpness u^T H u / ||u||^2 and the update norm of each run
    std::vector<Series> sharpness, update_norm;
    for (const auto& [opt, runs] : optimizers) {
      for (const RunRecord* r : runs) {
        if (r->result.audit.empty()) continue;
        Series a, b;
        a.label = b.label = opt + " seed " + std::to_string(r->seed);
        for (const recsys::AuditPoint& p : r->result.audit) {
          a.x.push_back(static_cast<double>(p.step));
          a.y.push_back(p.model.sharpness);
          b.x.push_back(static_cast<double>(p.step));
          b.y.push_back(p.model.update_norm);
        }
        sharpness.push_back(std::move(a));
        update_norm.push_back(std::move(b));
      }
    }
    if (!sharpness.empty()) {
      write_file_atomically(
          folder + "/audit_sharpness_" + model + ".svg",
          line_chart_svg(model + ": directional sharpness u'Hu/|u|^2", "optimizer steps", "sharpness", sharpness));
      write_file_atomically(folder + "/audit_update_norm_" + model + ".svg",
                            line_chart_svg(model + ": update norm |u|", "optimizer steps", "|u|", update_norm));
    }
  }
  return table;
}

}  // namespace recgrad::recbench
