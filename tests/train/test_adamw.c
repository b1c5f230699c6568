/* test_adamw.c — 10 steps of model.fit's optimiser (torch.optim.AdamW with the
 * no_decay group, clip_grad_norm_(1.0), WarmupLinear with 3 warmup steps of
 * 10) on given gradients, against PyTorch (tests/golden/train/adamw.bin):
 * learning rate, gradient norm and every parameter after every step, to 1e-6
 * relative. The gradients alternate between norms above 1 (clipped) and below. */
#include "train/optim.h"

#include "golden.h"
#include "test.h"

int main(void) {
    gt_file g;
    REQUIRE(gt_load(&g, SEMSEARCH_TESTS_DIR "/golden/train/adamw.bin") == 0);
    const float *hy = gt_f(&g, "hyper");
    size_t nd = gt_get(&g, "p0.decay")->n, nn = gt_get(&g, "p0.nodecay")->n, n = nd + nn;
    int warm = (int)hy[5], steps = (int)hy[6];
    float *p = malloc(n * sizeof(float)), *gr = malloc(n * sizeof(float));
    memcpy(p, gt_f(&g, "p0.decay"), nd * sizeof(float));
    memcpy(p + nd, gt_f(&g, "p0.nodecay"), nn * sizeof(float));
    ss_adamw o;
    ss_error err = {0};
    REQUIRE(ss_adamw_init(&o, n, &err) == SS_OK);
    CHECK(o.lr == 2e-5 && o.weight_decay == 0.01 && o.eps == 1e-8 && o.beta1 == 0.9 && o.beta2 == 0.999);
    o.lr = 1e-2; /* the reference's lr (hyper[0], stored as float) */
    CHECK(fabs(o.lr - hy[0]) < 1e-9);
    ss_param_range ranges[2] = {{0, nd, 1}, {nd, nn, 0}};
    double worst = 0;
    char key[32];
    for (int t = 0; t < steps; t++) {
        snprintf(key, sizeof key, "g%d.decay", t);
        memcpy(gr, gt_f(&g, key), nd * sizeof(float));
        snprintf(key, sizeof key, "g%d.nodecay", t);
        memcpy(gr + nd, gt_f(&g, key), nn * sizeof(float));
        double lr = o.lr * ss_schedule_factor(SS_SCHED_WARMUP_LINEAR, t, warm, steps);
        snprintf(key, sizeof key, "lr%d", t);
        float lrf = (float)lr;
        CHECK(gt_compare(key, &lrf, gt_f(&g, key), 1, 1e-6, 1e-12) <= 1e-6);
        float norm = ss_clip_grad_norm(gr, n, 1.0f);
        snprintf(key, sizeof key, "norm%d", t);
        CHECK(gt_compare(key, &norm, gt_f(&g, key), 1, 1e-6, 1e-9) <= 1e-6);
        ss_adamw_step(&o, p, gr, ranges, 2, lr);
        float *want = malloc(n * sizeof(float));
        snprintf(key, sizeof key, "p%d.decay", t + 1);
        memcpy(want, gt_f(&g, key), nd * sizeof(float));
        snprintf(key, sizeof key, "p%d.nodecay", t + 1);
        memcpy(want + nd, gt_f(&g, key), nn * sizeof(float));
        snprintf(key, sizeof key, "params after step %d", t + 1);
        double e = gt_compare(key, p, want, n, 1e-6, 1e-9);
        CHECK(e <= 1e-6);
        worst = e > worst ? e : worst;
        free(want);
    }
    printf("worst parameter error over %d steps: %.3g\n", steps, worst);
    CHECK(o.t == steps);
    CHECK(ss_schedule_parse("WarmupLinear") == SS_SCHED_WARMUP_LINEAR && ss_schedule_parse("x") == -1);
    CHECK(ss_schedule_factor(SS_SCHED_WARMUP_LINEAR, 0, 0, 10) == 1.0);
    CHECK(ss_schedule_factor(SS_SCHED_WARMUP_LINEAR, 12, 2, 10) == 0.0);
    CHECK(fabs(ss_schedule_factor(SS_SCHED_WARMUP_COSINE, 6, 2, 10) - 0.5) < 1e-12);
    ss_adamw_free(&o);
    free(p), free(gr);
    gt_free(&g);
    return TEST_REPORT();
}
