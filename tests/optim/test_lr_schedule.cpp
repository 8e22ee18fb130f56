// Learning-rate schedules at their key steps, and set_lr_factor.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/lr_schedule.h"
#include "optim/sgd.h"
#include "recgrad.h"

using namespace recgrad;

TEST(LrSchedule, Constant) {
  EXPECT_EQ(constant_schedule(0), 1.0);
  EXPECT_EQ(constant_schedule(123456), 1.0);
}

TEST(LrSchedule, LinearWarmup) {
  EXPECT_EQ(linear_warmup_schedule(0, 10), 0.0);
  EXPECT_EQ(linear_warmup_schedule(5, 10), 0.5);
  EXPECT_EQ(linear_warmup_schedule(9, 10), 0.9);
  EXPECT_EQ(linear_warmup_schedule(10, 10), 1.0);
  EXPECT_EQ(linear_warmup_schedule(1000, 10), 1.0);
  EXPECT_EQ(linear_warmup_schedule(0, 0), 1.0);  // no warmup
}

TEST(LrSchedule, Cosine) {
  // warmup 10, total 110: the cosine runs over steps 10..110.
  EXPECT_EQ(cosine_schedule(0, 10, 110), 0.0);
  EXPECT_EQ(cosine_schedule(4, 10, 110), 0.4);
  EXPECT_EQ(cosine_schedule(10, 10, 110), 1.0);
  EXPECT_NEAR(cosine_schedule(35, 10, 110), 0.5 * (1 + std::cos(M_PI / 4)), 1e-15);
  EXPECT_NEAR(cosine_schedule(60, 10, 110), 0.5, 1e-15);
  EXPECT_NEAR(cosine_schedule(110, 10, 110), 0.0, 1e-15);
  // With a floor: factor = cos_factor * 0.9 + 0.1.
  EXPECT_NEAR(cosine_schedule(60, 10, 110, 0.1), 0.55, 1e-15);
  EXPECT_NEAR(cosine_schedule(110, 10, 110, 0.1), 0.1, 1e-15);
  EXPECT_EQ(cosine_schedule(10, 10, 110, 0.1), 1.0);
  // No warmup.
  EXPECT_EQ(cosine_schedule(0, 0, 100), 1.0);
  EXPECT_NEAR(cosine_schedule(50, 0, 100), 0.5, 1e-15);
}

TEST(LrSchedule, InverseSqrt) {
  EXPECT_EQ(inverse_sqrt_schedule(0, 4), 0.0);
  EXPECT_EQ(inverse_sqrt_schedule(2, 4), 0.5);
  EXPECT_EQ(inverse_sqrt_schedule(4, 4), 1.0);
  EXPECT_DOUBLE_EQ(inverse_sqrt_schedule(16, 4), 0.5);  // sqrt(4 / 16)
  EXPECT_DOUBLE_EQ(inverse_sqrt_schedule(100, 4), 0.2);
  // Without warmup the timescale is 10000: 1 / sqrt((step + 10000) / 10000).
  EXPECT_EQ(inverse_sqrt_schedule(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(inverse_sqrt_schedule(30000, 0), 0.5);
}

TEST(LrSchedule, Errors) {
  EXPECT_THROW(constant_schedule(-1), Error);
  EXPECT_THROW(linear_warmup_schedule(-1, 10), Error);
  EXPECT_THROW(linear_warmup_schedule(1, -10), Error);
  EXPECT_THROW(cosine_schedule(0, 10, 5), Error);
  EXPECT_THROW(cosine_schedule(0, 10, 100, 1.5), Error);
  EXPECT_THROW(cosine_schedule(0, 10, 100, -0.1), Error);
  EXPECT_THROW(inverse_sqrt_schedule(-3, 0), Error);
  try {
    cosine_schedule(0, 10, 5);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cosine_schedule"), std::string::npos) << e.what();
  }
}

TEST(LrSchedule, SetLrFactorScalesEachGroupsBaseLr) {
  Tensor a = zeros({1}, {DType::f64}).requires_grad_();
  Tensor b = zeros({1}, {DType::f64}).requires_grad_();
  SGD opt({SGD::Group{{a}, {}, {.lr = 0.1}}, SGD::Group{{b}, {}, {.lr = 1.0}}});
  set_lr_factor(opt, 0.5);
  EXPECT_EQ(opt.param_groups()[0].options.lr, 0.05);
  EXPECT_EQ(opt.param_groups()[1].options.lr, 0.5);
  set_lr_factor(opt, 0.2);  // relative to the base, not compounding
  EXPECT_NEAR(opt.param_groups()[0].options.lr, 0.02, 1e-17);
  EXPECT_EQ(opt.param_groups()[1].options.lr, 0.2);
  EXPECT_EQ(opt.param_groups()[0].initial_lr, 0.1);
  // The step uses the scheduled lr.
  a.set_grad(ones({1}, {DType::f64}));
  opt.step();
  EXPECT_NEAR(a.item<double>(), -0.02, 1e-17);
  EXPECT_THROW(set_lr_factor(opt, -1.0), Error);
}
