// Every optimizer, the gradient clipping and the learning-rate schedules in one include.
#pragma once

#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"
#include "optim/sgd.h"
