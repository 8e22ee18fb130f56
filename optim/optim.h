// Every optimizer, the gradient clipping and the learning-rate schedules in one include.
#pragma once

#include "optim/adam.h"
#include "optim/adamw.h"
#include "optim/audit.h"
#include "optim/clip_grad.h"
#include "optim/hybrid.h"
#include "optim/lion.h"
#include "optim/lr_schedule.h"
#include "optim/muon.h"
#include "optim/muon_mvr.h"
#include "optim/newton_schulz.h"
#include "optim/normuon.h"
#include "optim/optimizer.h"
#include "optim/presets.h"
#include "optim/routing.h"
#include "optim/sgd.h"
