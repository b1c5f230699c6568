/* The safetensors header is validated, not trusted: shapes whose element
 * count overflows, offsets that are fractional, misaligned, overlapping,
 * gapped or past the data region, and duplicate tensor names are refused with
 * an error naming the file and the tensor (issue 13 item 1). */
#include <stdint.h>
#include <unistd.h>

#include "model/safetensors.h"
#include "test.h"

static char path[256];

/* Write 8-byte length + header + `data_len` zero bytes. */
static void write_st(const char *header, size_t data_len) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    uint64_t n = strlen(header);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(n >> (8 * i));
    fwrite(le, 1, 8, f);
    fputs(header, f);
    for (size_t i = 0; i < data_len; i++) fputc(0, f);
    fclose(f);
}

static void expect_ok(const char *header, size_t data_len) {
    write_st(header, data_len);
    ss_safetensors st;
    ss_error err = {0};
    ss_status s = ss_st_open(&st, path, &err);
    CHECKF(s == SS_OK, "%s: %s", header, err.msg);
    if (s == SS_OK) ss_st_close(&st);
}

static void expect_fail(const char *header, size_t data_len, const char *n1, const char *n2) {
    write_st(header, data_len);
    ss_safetensors st;
    ss_error err = {0};
    ss_status s = ss_st_open(&st, path, &err);
    CHECKF(s != SS_OK, "accepted: %s", header);
    if (s == SS_OK) {
        ss_st_close(&st);
        return;
    }
    printf("  %s\n", err.msg);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, n1);
    if (n2) CHECK_CONTAINS(err.msg, n2);
}

int main(void) {
    snprintf(path, sizeof path, "/tmp/semsearch-st-%d.safetensors", (int)getpid());

    printf("well-formed files are accepted:\n");
    expect_ok("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
              "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},\"__metadata__\":{\"format\":\"pt\"}}",
              28);
    expect_ok("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]}}", 0);

    printf("shape product overflows to 0 bytes:\n");
    expect_fail("{\"huge\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
                "'huge'", "overflows 64 bits");
    expect_fail("{\"huge\":{\"dtype\":\"F16\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0,
                "'huge'", NULL);
    printf("element count x dtype size overflows:\n");
    expect_fail("{\"big\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0, "'big'",
                NULL);
    printf("fractional and negative dimensions / offsets:\n");
    expect_fail("{\"frac\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,6]}}", 6, "'frac'", "whole");
    expect_fail("{\"neg\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, "'neg'", NULL);
    expect_fail("{\"fo\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}", 8, "'fo'", "whole");
    printf("offset not a multiple of the dtype size:\n");
    expect_fail("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
                6, "'b'", "multiple");
    printf("overlapping tensors:\n");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                12, "overlap", "'a'");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                8, "overlap", NULL);
    printf("a gap between tensors, trailing bytes:\n");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'a'", "contiguous");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "trailing", NULL);
    printf("duplicate tensor names:\n");
    expect_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                8, "'w'", "twice");
    printf("range past the data region:\n");
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "'t'", "outside");
    printf("shape and byte range disagree:\n");
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, "'t'", "byte range");
    printf("too many dimensions:\n");
    expect_fail("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "'t'",
                "dimensions");

    unlink(path);
    return TEST_REPORT();
}
