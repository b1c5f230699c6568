/* es_basic.c — the Elasticsearch APIs that need no collections: the info
 * document at GET|HEAD / and GET /_cluster/health.
 *
 * The version reported is 8.17.0: elasticsearch-py 8.x and 9.x only check
 * the X-Elastic-Product header (added to every response by http.c), and the
 * 7.14-7.17 clients' GET / product check needs number >= 7.14 plus
 * build_flavor "default" and the tagline — all satisfied. */
#include <stdio.h>
#include <time.h>

#include "server/app.h"

#define ES_VERSION "8.17.0"
#define ES_LUCENE "9.12.0"

static int root_info(ss_http_req *r, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->node_name);
    cJSON_AddStringToObject(o, "cluster_name", s->cluster_name);
    cJSON_AddStringToObject(o, "cluster_uuid", s->cluster_uuid);
    cJSON *v = cJSON_AddObjectToObject(o, "version");
    cJSON_AddStringToObject(v, "number", ES_VERSION);
    cJSON_AddStringToObject(v, "build_flavor", "default");
    cJSON_AddStringToObject(v, "build_type", "semsearch");
    cJSON_AddStringToObject(v, "build_hash", "semsearch-" SEMSEARCH_VERSION);
    cJSON_AddStringToObject(v, "build_date", "2026-01-01T00:00:00.000Z");
    cJSON_AddBoolToObject(v, "build_snapshot", 0);
    cJSON_AddStringToObject(v, "lucene_version", ES_LUCENE);
    cJSON_AddStringToObject(v, "minimum_wire_compatibility_version", "7.17.0");
    cJSON_AddStringToObject(v, "minimum_index_compatibility_version", "7.0.0");
    cJSON_AddStringToObject(o, "tagline", "You Know, for Search");
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

static int cluster_health(ss_http_req *r, ss_http_resp *resp) {
    ss_server *s = ss_http_app(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cluster_name", s->cluster_name);
    cJSON_AddStringToObject(o, "status", "green");
    cJSON_AddBoolToObject(o, "timed_out", 0);
    cJSON_AddNumberToObject(o, "number_of_nodes", 1);
    cJSON_AddNumberToObject(o, "number_of_data_nodes", 1);
    /* no collections yet: zero shards (one shard per index once indices exist) */
    const char *zero[] = {"active_primary_shards", "active_shards", "relocating_shards", "initializing_shards",
                          "unassigned_shards", "unassigned_primary_shards", "delayed_unassigned_shards",
                          "number_of_pending_tasks", "number_of_in_flight_fetch",
                          "task_max_waiting_in_queue_millis"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) cJSON_AddNumberToObject(o, zero[i], 0);
    cJSON_AddNumberToObject(o, "active_shards_percent_as_number", 100.0);
    ss_http_json(resp, 200, o);
    return SS_HTTP_DONE;
}

int ss_es_basic_routes(ss_router *rt) {
    int rc = 0;
    rc |= ss_router_add(rt, "GET", "/", root_info);
    rc |= ss_router_add(rt, "HEAD", "/", root_info);
    rc |= ss_router_add(rt, "GET", "/_cluster/health", cluster_health);
    return rc;
}
