#include "recsys/generative/prompts.h"

#include "core/error.h"

namespace recgrad::recsys {

PromptBuilder::PromptBuilder(const PromptVocabulary& tokenizer, const SemanticIds& sids,
                             const std::vector<std::string>& titles, PromptOptions options)
    : tokenizer_(tokenizer), sids_(sids), titles_(titles), options_(options) {
  RG_CHECK(options.max_history >= 1 && options.title_words >= 1 && options.context >= 4,
           "PromptBuilder: max_history and title_words must be >= 1 and context >= 4, got ", options.max_history, ", ",
           options.title_words, " and ", options.context);
  RG_CHECK(static_cast<std::int64_t>(titles.size()) == sids.num_items + 1, "PromptBuilder: ", titles.size() - 1,
           " catalogue items but semantic IDs for ", sids.num_items);
  RG_CHECK(tokenizer.tasks() >= kPromptTasks, "PromptBuilder: the tokenizer has ", tokenizer.tasks(),
           " task tokens; the prompts need ", kPromptTasks);
}

std::vector<std::int64_t> PromptBuilder::sid_tokens(datasets::ItemId item) const {
  RG_CHECK(item >= 1 && item <= sids_.num_items, "PromptBuilder: item ", item, " is not in 1..", sids_.num_items);
  std::vector<std::int64_t> tokens;
  const auto codes = sids_.of(item);
  for (std::size_t level = 0; level < codes.size(); ++level) {
    try {
      tokens.push_back(tokenizer_.sid_token(static_cast<std::int64_t>(level), codes[level]));
    } catch (const Error& error) {
      throw Error(detail::concat("PromptBuilder: item ", item, " (", sids_.text(item), "): ", error.what()));
    }
  }
  return tokens;
}

std::vector<std::int64_t> PromptBuilder::title_tokens(datasets::ItemId item) const {
  RG_CHECK(item >= 1 && item <= sids_.num_items, "PromptBuilder: item ", item, " is not in 1..", sids_.num_items);
  return tokenizer_.encode(titles_[static_cast<std::size_t>(item)], options_.title_words);
}

PromptExample PromptBuilder::next_item(PromptTask task, const std::vector<datasets::ItemId>& history,
                                       datasets::ItemId target) const {
  RG_CHECK(task == PromptTask::sid_history || task == PromptTask::title_history, "PromptBuilder.next_item: task ",
           static_cast<std::int64_t>(task), " is not a next-item task");
  PromptExample example;
  example.task = task;
  example.item = target;
  example.prompt = {tokenizer_.bos(), tokenizer_.task_token(static_cast<std::int64_t>(task))};
  std::vector<datasets::ItemId> read;
  for (const datasets::ItemId item : history)
    if (item != 0) read.push_back(item);
  RG_CHECK(!read.empty(), "PromptBuilder: the history of target item ", target, " is empty");
  if (static_cast<std::int64_t>(read.size()) > options_.max_history) {
    read.erase(read.begin(), read.end() - options_.max_history);
  }
  for (std::size_t i = 0; i < read.size(); ++i) {
    if (i > 0) example.prompt.push_back(tokenizer_.item_separator());
    const std::vector<std::int64_t> tokens =
        task == PromptTask::sid_history ? sid_tokens(read[i]) : title_tokens(read[i]);
    example.prompt.insert(example.prompt.end(), tokens.begin(), tokens.end());
  }
  example.prompt.push_back(tokenizer_.sep());
  example.response = sid_tokens(target);
  example.response.push_back(tokenizer_.eos());
  return finish(std::move(example), "the next-item example");
}

PromptExample PromptBuilder::alignment(PromptTask task, datasets::ItemId item) const {
  RG_CHECK(task == PromptTask::title_to_sid || task == PromptTask::sid_to_title, "PromptBuilder.alignment: task ",
           static_cast<std::int64_t>(task), " is not an alignment task");
  PromptExample example;
  example.task = task;
  example.item = item;
  example.prompt = {tokenizer_.bos(), tokenizer_.task_token(static_cast<std::int64_t>(task))};
  const std::vector<std::int64_t> sid = sid_tokens(item), title = title_tokens(item);
  const std::vector<std::int64_t>& input = task == PromptTask::title_to_sid ? title : sid;
  const std::vector<std::int64_t>& output = task == PromptTask::title_to_sid ? sid : title;
  example.prompt.insert(example.prompt.end(), input.begin(), input.end());
  example.prompt.push_back(tokenizer_.sep());
  example.response = output;
  example.response.push_back(tokenizer_.eos());
  return finish(std::move(example), "the alignment example");
}

void PromptBuilder::check_fits_context() const {
  // the items with the longest SID and the longest title (the first such), read max_history times: an upper
  // bound of every example's length
  datasets::ItemId longest_sid = 1, longest_title = 1;
  std::size_t sid_length = 0, title_length = 0;
  for (datasets::ItemId item = 1; item <= sids_.num_items; ++item) {
    if (const std::size_t n = sid_tokens(item).size(); n > sid_length) sid_length = n, longest_sid = item;
    if (const std::size_t n = title_tokens(item).size(); n > title_length) title_length = n, longest_title = item;
  }
  if (sids_.num_items < 1) return;
  const auto repeated = [&](datasets::ItemId item) {
    return std::vector<datasets::ItemId>(static_cast<std::size_t>(options_.max_history), item);
  };
  (void)next_item(PromptTask::sid_history, repeated(longest_sid), longest_sid);
  (void)next_item(PromptTask::title_history, repeated(longest_title), longest_sid);
  (void)alignment(PromptTask::title_to_sid, longest_title);
  (void)alignment(PromptTask::sid_to_title, longest_title);
}

PromptExample PromptBuilder::finish(PromptExample example, const char* what) const {
  const auto length = static_cast<std::int64_t>(example.prompt.size() + example.response.size());
  RG_CHECK(length <= options_.context, "PromptBuilder: ", what, " of item ", example.item, " (task ",
           static_cast<std::int64_t>(example.task), ") has ", length, " tokens, more than the context of ",
           options_.context, "; raise the context or lower max_history / title_words");
  return example;
}

}  // namespace recgrad::recsys
