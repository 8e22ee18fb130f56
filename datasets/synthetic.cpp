#include "datasets/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "core/host_random.h"

namespace recgrad::datasets {

void SyntheticConfig::validate() const {
  auto check = [](bool ok, const char* what, auto value, const char* rule) {
    RG_CHECK(ok, "SyntheticConfig: ", what, " = ", value, " is invalid (", rule, ")");
  };
  check(num_users >= 1, "num_users", num_users, "must be >= 1");
  check(num_clusters >= 1, "num_clusters", num_clusters, "must be >= 1");
  check(successors_per_item >= 1, "successors_per_item", successors_per_item, "must be >= 1");
  check(static_cast<std::int64_t>(num_items) >=
            static_cast<std::int64_t>(num_clusters) * (static_cast<std::int64_t>(successors_per_item) + 1),
        "num_items", num_items,
        "must be >= num_clusters * (successors_per_item + 1), so every cluster holds an item and its successors");
  check(num_items <= kMaxItems, "num_items", num_items, "must be at most 10000000");
  check(zipf_exponent >= 0.0 && std::isfinite(zipf_exponent), "zipf_exponent", zipf_exponent,
        "must be finite and >= 0");
  check(transition_probability >= 0.0 && transition_probability <= 1.0, "transition_probability",
        transition_probability, "must be in [0, 1]");
  check(noise_probability >= 0.0 && noise_probability <= 1.0 - transition_probability, "noise_probability",
        noise_probability, "must be in [0, 1 - transition_probability]");
  check(min_sequence_length >= (split == SyntheticSplit::LeaveOneOut ? 3 : 2), "min_sequence_length",
        min_sequence_length, "must be >= 2 (Windowed) or >= 3 (LeaveOneOut) so every user has a target");
  check(max_sequence_length >= min_sequence_length, "max_sequence_length", max_sequence_length,
        "must be >= min_sequence_length");
  check(max_sequence_length <= kMaxSequenceLength, "max_sequence_length", max_sequence_length,
        "must be at most 1000000");
  check(mean_sequence_length >= min_sequence_length && mean_sequence_length <= max_sequence_length,
        "mean_sequence_length", mean_sequence_length, "must lie in [min_sequence_length, max_sequence_length]");
  check(mean_time_gap > 0.0 && std::isfinite(mean_time_gap), "mean_time_gap", mean_time_gap, "must be > 0");
  check(max_history_length >= 1 && max_history_length <= kMaxSequenceLength, "max_history_length", max_history_length,
        "must be >= 1 and at most 1000000");
  check(num_users * mean_sequence_length <= kMaxInteractions, "num_users", num_users,
        "num_users * mean_sequence_length, the expected number of interactions, must be at most 1e8");
  // Every split must get rows. Windowed: at least 10 samples (each user has >= min_sequence_length - 1),
  // so the 10% valid share and the test share each get one. LeaveOneOut: a train row needs a user with
  // 4 items, which a 3-item minimum gives only when lengths vary (mean above the minimum).
  check(split != SyntheticSplit::Windowed ||
            static_cast<std::int64_t>(num_users) * (static_cast<std::int64_t>(min_sequence_length) - 1) >= 10,
        "num_users", num_users,
        "num_users * (min_sequence_length - 1), the fewest samples, must be at least 10 so the Windowed split's "
        "10% valid and test shares get rows");
  check(split != SyntheticSplit::LeaveOneOut || min_sequence_length >= 4 || mean_sequence_length > min_sequence_length,
        "mean_sequence_length", mean_sequence_length,
        "LeaveOneOut with every sequence min_sequence_length = 3 items long leaves no train rows: raise "
        "mean_sequence_length or min_sequence_length");
}

std::vector<double> SyntheticTruth::next_item_distribution(UserId user, ItemId previous_item) const {
  RG_CHECK(user >= 0 && static_cast<std::size_t>(user) < cluster_of_user.size(), "SyntheticTruth: user ", user,
           " is not in 0..", cluster_of_user.size() - 1);
  RG_CHECK(previous_item >= 0 && static_cast<std::size_t>(previous_item) < popularity.size(),
           "SyntheticTruth: previous item ", previous_item, " is not in 0..", popularity.size() - 1);
  const std::int32_t cluster = cluster_of_user[static_cast<std::size_t>(user)];
  const bool first = previous_item == kPaddingItem;
  const double taste = first ? 1.0 : 1.0 - transition_probability - noise_probability;
  const double noise = first ? 0.0 : noise_probability;
  std::vector<double> p(popularity.size(), 0.0);
  for (std::size_t j = 1; j < p.size(); ++j) {
    p[j] = noise * popularity[j];
    if (cluster_of_item[j] == cluster) p[j] += taste * popularity[j] / cluster_mass[static_cast<std::size_t>(cluster)];
  }
  if (!first) {
    const std::vector<ItemId>& next = successors[static_cast<std::size_t>(previous_item)];
    for (std::size_t k = 0; k < next.size(); ++k)
      p[static_cast<std::size_t>(next[k])] += transition_probability * successor_probability[k];
  }
  return p;
}

namespace {

// Draws from a fixed discrete distribution by binary search in its cumulative weights.
class Sampler {
 public:
  Sampler() = default;
  Sampler(std::vector<ItemId> outcomes, const std::vector<double>& weights) : outcomes_(std::move(outcomes)) {
    cumulative_.resize(weights.size());
    std::partial_sum(weights.begin(), weights.end(), cumulative_.begin());
  }
  ItemId draw(HostRandom& random) const {
    const double u = random.uniform() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    return outcomes_[std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_.begin()), outcomes_.size() - 1)];
  }

 private:
  std::vector<ItemId> outcomes_;
  std::vector<double> cumulative_;
};

constexpr std::array<const char*, 24> kNouns = {"valve",  "sensor",  "bearing", "clamp",   "filter", "gauge",
                                                "nozzle", "fitting", "pump",    "relay",   "switch", "cable",
                                                "magnet", "spring",  "hinge",   "bracket", "gasket", "probe",
                                                "funnel", "beaker",  "pipette", "tweezer", "scale",  "lens"};
constexpr std::array<const char*, 8> kAdjectives = {"compact", "heavy-duty", "precision",  "portable",
                                                    "mini",    "industrial", "adjustable", "digital"};
constexpr std::array<const char*, 8> kMaterials = {"steel", "brass",  "nylon",   "aluminum",
                                                   "glass", "rubber", "ceramic", "copper"};
constexpr std::array<const char*, 12> kBrands = {"Acme",  "Borel", "Cortex", "Dyna",  "Eltra",   "Fenwick",
                                                 "Grove", "Helix", "Ionix",  "Jaxon", "Kestrel", "Lumen"};

std::string cluster_noun(std::int32_t cluster) {
  std::string noun = kNouns[static_cast<std::size_t>(cluster) % kNouns.size()];
  if (cluster >= static_cast<std::int32_t>(kNouns.size())) noun += "-" + std::to_string(cluster / kNouns.size());
  return noun;
}

// Title, category, brand, description and semantic ID of every item (entry 0 stays empty).
std::vector<ItemInfo> describe_items(const std::vector<std::int32_t>& cluster_of_item, HostRandom& random) {
  const std::size_t attributes = kAdjectives.size() * kMaterials.size();
  std::unordered_map<std::size_t, std::int32_t> seen;  // items so far per (cluster, attributes)
  std::vector<ItemInfo> items(cluster_of_item.size());
  for (std::size_t i = 1; i < items.size(); ++i) {
    const std::int32_t cluster = cluster_of_item[i];
    const std::size_t adjective = static_cast<std::size_t>(random.index(kAdjectives.size()));
    const std::size_t material = static_cast<std::size_t>(random.index(kMaterials.size()));
    const std::size_t attribute = adjective * kMaterials.size() + material;
    const std::string brand = kBrands[static_cast<std::size_t>(random.index(kBrands.size()))];
    const std::string noun = cluster_noun(cluster);
    char code[32];
    std::snprintf(code, sizeof(code), "%c-%04zu", static_cast<char>('A' + cluster % 26), i);
    ItemInfo& info = items[i];
    info.external_id = "synthetic-" + std::to_string(i);
    info.title = std::string(kAdjectives[adjective]) + " " + kMaterials[material] + " " + noun + " " + code;
    info.brand = brand;
    info.categories = noun;
    info.description = "A " + std::string(kAdjectives[adjective]) + " " + noun + " made of " + kMaterials[material] +
                       ", by " + brand + ".";
    std::int32_t& k = seen[static_cast<std::size_t>(cluster) * attributes + attribute];  // 0 when new
    info.semantic_id = {"<a_" + std::to_string(cluster) + ">", "<b_" + std::to_string(attribute) + ">",
                        "<c_" + std::to_string(k++) + ">"};
  }
  return items;
}

// One event of a user's sequence, for the global time sort of the windowed split.
struct Sample {
  double time;
  UserId user;
  std::int32_t position;  // index of the target in the user's sequence (>= 1)
};

}  // namespace

SyntheticData generate_synthetic(const SyntheticConfig& config) {
  config.validate();
  HostRandom random(config.seed);
  const std::int32_t n = config.num_items;
  const std::size_t slots = static_cast<std::size_t>(n) + 1;  // item ids 1..n, 0 is padding
  SyntheticData data;
  SyntheticTruth& truth = data.truth;
  truth.transition_probability = config.transition_probability;
  truth.noise_probability = config.noise_probability;

  // Popularity: Zipf weights over a random ranking of the items.
  std::vector<ItemId> ranking(static_cast<std::size_t>(n));
  std::iota(ranking.begin(), ranking.end(), 1);
  random.shuffle(ranking);
  std::vector<double> weight(slots, 0.0);
  for (std::size_t r = 0; r < ranking.size(); ++r)
    weight[static_cast<std::size_t>(ranking[r])] = 1.0 / std::pow(static_cast<double>(r + 1), config.zipf_exponent);
  const double total_weight = std::accumulate(weight.begin(), weight.end(), 0.0);
  truth.popularity.resize(slots);
  for (std::size_t i = 0; i < slots; ++i) truth.popularity[i] = weight[i] / total_weight;

  // Clusters: an independent random order of the items dealt round-robin, so every cluster holds
  // floor or ceil of n / num_clusters items of mixed popularity.
  std::vector<ItemId> deal(ranking);
  random.shuffle(deal);
  truth.cluster_of_item.assign(slots, -1);
  std::vector<std::vector<ItemId>> members(static_cast<std::size_t>(config.num_clusters));
  for (std::size_t p = 0; p < deal.size(); ++p) {
    const std::int32_t cluster = static_cast<std::int32_t>(p % static_cast<std::size_t>(config.num_clusters));
    truth.cluster_of_item[static_cast<std::size_t>(deal[p])] = cluster;
    members[static_cast<std::size_t>(cluster)].push_back(deal[p]);
  }
  truth.cluster_mass.assign(members.size(), 0.0);
  std::vector<Sampler> taste(members.size());
  for (std::size_t c = 0; c < members.size(); ++c) {
    std::sort(members[c].begin(), members[c].end());
    std::vector<double> w;
    for (ItemId i : members[c]) {
      w.push_back(weight[static_cast<std::size_t>(i)]);
      truth.cluster_mass[c] += truth.popularity[static_cast<std::size_t>(i)];
    }
    taste[c] = Sampler(members[c], w);
  }
  std::vector<ItemId> all_items(ranking);
  std::sort(all_items.begin(), all_items.end());
  const Sampler global(all_items, std::vector<double>(weight.begin() + 1, weight.end()));

  // Transitions: successors drawn from the item's cluster in proportion to popularity, without
  // repeats (Efraimidis-Spirakis: the k largest keys log(u) / weight).
  const std::size_t s = static_cast<std::size_t>(config.successors_per_item);
  truth.successor_probability.resize(s);
  for (std::size_t k = 0; k < s; ++k) truth.successor_probability[k] = 1.0 / static_cast<double>(k + 1);
  const double successor_total =
      std::accumulate(truth.successor_probability.begin(), truth.successor_probability.end(), 0.0);
  for (double& p : truth.successor_probability) p /= successor_total;
  truth.successors.assign(slots, {});
  std::vector<std::pair<double, ItemId>> keys;
  for (ItemId i = 1; i <= n; ++i) {
    keys.clear();
    for (ItemId j : members[static_cast<std::size_t>(truth.cluster_of_item[static_cast<std::size_t>(i)])])
      if (j != i) keys.emplace_back(std::log(random.uniform_positive()) / weight[static_cast<std::size_t>(j)], j);
    std::partial_sort(
        keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(s), keys.end(),
        [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (std::size_t k = 0; k < s; ++k) truth.successors[static_cast<std::size_t>(i)].push_back(keys[k].second);
  }
  const Sampler successor_index(
      [&] {
        std::vector<ItemId> ks(s);
        std::iota(ks.begin(), ks.end(), 0);
        return ks;
      }(),
      truth.successor_probability);

  // Users and their sequences.
  truth.cluster_of_user.resize(static_cast<std::size_t>(config.num_users));
  for (auto& cluster : truth.cluster_of_user) cluster = static_cast<std::int32_t>(random.index(config.num_clusters));
  const double extra_mean = config.mean_sequence_length - config.min_sequence_length;
  const double stop = 1.0 / (1.0 + extra_mean);  // geometric number of extra items with mean extra_mean
  std::vector<std::vector<ItemId>> sequences(static_cast<std::size_t>(config.num_users));
  std::vector<std::vector<double>> times(sequences.size());
  for (std::size_t u = 0; u < sequences.size(); ++u) {
    std::int64_t length = config.min_sequence_length;
    if (stop < 1.0)
      length += static_cast<std::int64_t>(std::floor(std::log(random.uniform_positive()) / std::log1p(-stop)));
    length = std::min<std::int64_t>(length, config.max_sequence_length);
    const Sampler& own_taste = taste[static_cast<std::size_t>(truth.cluster_of_user[u])];
    std::vector<ItemId>& items = sequences[u];
    std::vector<double>& when = times[u];
    double now = random.uniform();
    for (std::int64_t k = 0; k < length; ++k) {
      if (k == 0) {
        items.push_back(own_taste.draw(random));
      } else {
        const double u01 = random.uniform();
        if (u01 < config.transition_probability) {
          items.push_back(truth.successors[static_cast<std::size_t>(items.back())]
                                          [static_cast<std::size_t>(successor_index.draw(random))]);
        } else if (u01 < config.transition_probability + config.noise_probability) {
          items.push_back(global.draw(random));
        } else {
          items.push_back(own_taste.draw(random));
        }
        now += random.exponential(config.mean_time_gap);
      }
      when.push_back(now);
    }
  }

  // Rows.
  SequenceDataset& dataset = data.dataset;
  dataset.name = "synthetic";
  dataset.num_items = n;
  dataset.num_users = config.num_users;
  dataset.max_history_length = config.max_history_length;
  dataset.items = describe_items(truth.cluster_of_item, random);
  const std::int32_t window = config.max_history_length;
  auto add = [&](Split& split, UserId user, std::int32_t position) {
    const std::vector<ItemId>& items = sequences[static_cast<std::size_t>(user)];
    const std::int32_t begin = std::max(0, position - window);
    split.add_row(user, std::span<const ItemId>(items.data() + begin, static_cast<std::size_t>(position - begin)),
                  items[static_cast<std::size_t>(position)]);
  };
  if (config.split == SyntheticSplit::Windowed) {
    std::vector<Sample> samples;
    for (std::size_t u = 0; u < sequences.size(); ++u)
      for (std::size_t k = 1; k < sequences[u].size(); ++k)
        samples.push_back({times[u][k], static_cast<UserId>(u), static_cast<std::int32_t>(k)});
    std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
      return std::tie(a.time, a.user, a.position) < std::tie(b.time, b.user, b.position);
    });
    const std::size_t train_rows = samples.size() * 8 / 10, valid_rows = samples.size() / 10;
    for (std::size_t r = 0; r < samples.size(); ++r) {
      Split& split = r < train_rows ? dataset.train : (r < train_rows + valid_rows ? dataset.valid : dataset.test);
      add(split, samples[r].user, samples[r].position);
    }
  } else {
    for (std::size_t u = 0; u < sequences.size(); ++u) {
      const std::int32_t length = static_cast<std::int32_t>(sequences[u].size());
      for (std::int32_t k = 1; k + 2 < length; ++k) add(dataset.train, static_cast<UserId>(u), k);
      add(dataset.valid, static_cast<UserId>(u), length - 2);
      add(dataset.test, static_cast<UserId>(u), length - 1);
    }
  }
  for (SplitName which : {SplitName::Train, SplitName::Valid, SplitName::Test}) {
    RG_CHECK(!dataset.split(which).empty(), "generate_synthetic: the ", split_name(which),
             " split came out without rows (the sequences drawn for ", config.num_users,
             " users are too short for it); raise num_users or mean_sequence_length");
  }
  dataset.validate();
  return data;
}

}  // namespace recgrad::datasets
