/* SPDX-License-Identifier: Apache-2.0 */
/* processes: names, mix weights and help of the simulated processes, and
 * the parser of a weighted process list. */
#include "processes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
        const char *name;
        double mix_weight;
        const char *help;
} s_proc[SIM_P_COUNT_] = {
        [SIM_P_ZPRIME] = { "zprime", 20,
                "e+e- -> mu+mu- Z'(invisible); --mass m (default 1, 3 or 6 at random)" },
        [SIM_P_MUMU] = { "mumu", 12,
                "e+e- -> mu+mu- gamma; the photon is lost along a beam half the time" },
        [SIM_P_MUMUTAUTAU] = { "mumutautau", 6,
                "e+e- -> mu+mu- X(-> tau+tau-), tau -> 1 charged + nu; --mass m (default 5)" },
        [SIM_P_FOURMU] = { "fourmu", 6,
                "e+e- -> mu+mu- X(-> mu+mu-); --mass m (default 2)" },
        [SIM_P_TAU1X3] = { "tau1x3", 8,
                "tau+tau-: one -> e/mu + alpha (--mass, default 0.5) or 2 nu, other -> 3 prongs" },
        [SIM_P_DISPLACED] = { "displaced", 5,
                "e+e- -> S pions, S -> mu+mu- or pi+pi- after flying; --mass (default 1), --ctau-cm" },
        [SIM_P_IDM] = { "idm", 5,
                "e+e- -> h'(-> mu/pi pair, displaced) A'(-> chi1 chi2(-> chi1 e+e-)); --mass m_h' (0.8)" },
        [SIM_P_SINGLE_PHOTON] = { "single_photon", 5,
                "e+e- -> gamma A'(invisible); --mass m (default 2)" },
        [SIM_P_THREE_PHOTON] = { "three_photon", 5,
                "e+e- -> gamma a(-> gamma gamma); --mass m (default 1)" },
        [SIM_P_BHABHA] = { "bhabha", 15,
                "e+e- -> e+e- (gamma), t-channel angular distribution" },
        [SIM_P_QQBAR] = { "qqbar", 13,
                "e+e- -> hadrons: 2-10 charged pions/kaons, pi0s, a K0S or Lambda at times" },
};

const char *sim_process_name(unsigned id)
{
        return id < SIM_P_COUNT_ ? s_proc[id].name : NULL;
}

double sim_process_mix_weight(unsigned id)
{
        return id < SIM_P_COUNT_ ? s_proc[id].mix_weight : 0.0;
}

const char *sim_process_help(unsigned id)
{
        return id < SIM_P_COUNT_ ? s_proc[id].help : NULL;
}

int sim_process_parse(const char *spec, double weight[SIM_P_COUNT_], char *err,
                      size_t err_size)
{
        char buf[512], *save = NULL;
        double sum = 0.0;

        if (strlen(spec) >= sizeof(buf)) {
                snprintf(err, err_size, "--process: list too long");
                return -EINVAL;
        }
        strcpy(buf, spec);
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(tok, ':');
                double w = 1.0;
                unsigned id;

                if (colon) {
                        char *end;

                        *colon = '\0';
                        w = strtod(colon + 1, &end);
                        if (end == colon + 1 || *end || !(w >= 0.0) || !isfinite(w)) {
                                snprintf(err, err_size, "--process: bad weight \"%s\" for %s",
                                         colon + 1, tok);
                                return -EINVAL;
                        }
                }
                if (!strcmp(tok, "mix")) {
                        for (id = 0; id < SIM_P_COUNT_; id++)
                                weight[id] += w * s_proc[id].mix_weight;
                        continue;
                }
                for (id = 0; id < SIM_P_COUNT_; id++)
                        if (!strcmp(tok, s_proc[id].name))
                                break;
                if (id == SIM_P_COUNT_) {
                        snprintf(err, err_size, "--process: unknown process \"%s\" (see --help)", tok);
                        return -EINVAL;
                }
                weight[id] += w;
        }
        for (unsigned id = 0; id < SIM_P_COUNT_; id++)
                sum += weight[id];
        if (!(sum > 0.0)) {
                snprintf(err, err_size, "--process: \"%s\" selects no process", spec);
                return -EINVAL;
        }
        return 0;
}
