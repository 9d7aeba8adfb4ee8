/* Plain binary-heap Dijkstra with a distance limit, for benchmarks/bench_traveltime.py.
 *
 * One search per source over a CSR graph; touched nodes are reset after each search, so the
 * cost is proportional to the nodes reached (no O(n) initialisation per source). For each source
 * the number of nodes reached within the limit and the sum of their times are returned, so the
 * result can be checked against geosuff.
 *
 * Built at benchmark time: gcc -O3 -shared -fPIC dijkstra_heap.c -o libdijkstra_heap.so
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { double d; int32_t v; } item;

static void push(item *h, int64_t *n, double d, int32_t v) {
    int64_t i = (*n)++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (h[p].d <= d) break;
        h[i] = h[p];
        i = p;
    }
    h[i].d = d; h[i].v = v;
}

static item pop(item *h, int64_t *n) {
    item top = h[0];
    item last = h[--(*n)];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1].d < h[c].d) c++;
        if (h[c].d >= last.d) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

/* returns 0 on success, -1 on allocation failure */
int reach(int32_t n, const int64_t *indptr, const int32_t *indices, const double *w,
          int32_t n_src, const int32_t *src, double limit, int64_t *count, double *total) {
    double *dist = malloc(sizeof(double) * (size_t)n);
    char *done = calloc((size_t)n, 1);
    int32_t *touched = malloc(sizeof(int32_t) * (size_t)n);
    int64_t cap = 1024;
    item *heap = malloc(sizeof(item) * (size_t)cap);
    if (!dist || !done || !touched || !heap) return -1;
    for (int32_t i = 0; i < n; i++) dist[i] = INFINITY;
    for (int32_t s = 0; s < n_src; s++) {
        int64_t nh = 0, nt = 0, reached = 0;
        double sum = 0.0;
        dist[src[s]] = 0.0;
        touched[nt++] = src[s];
        push(heap, &nh, 0.0, src[s]);
        while (nh > 0) {
            item it = pop(heap, &nh);
            int32_t u = it.v;
            if (done[u]) continue;
            done[u] = 1;
            reached++;
            sum += it.d;
            for (int64_t k = indptr[u]; k < indptr[u + 1]; k++) {
                int32_t v = indices[k];
                double nd = it.d + w[k];
                if (nd < dist[v] && nd <= limit) {
                    if (dist[v] == INFINITY) touched[nt++] = v;
                    dist[v] = nd;
                    if (nh + 1 > cap) {
                        cap *= 2;
                        item *h2 = realloc(heap, sizeof(item) * (size_t)cap);
                        if (!h2) return -1;
                        heap = h2;
                    }
                    push(heap, &nh, nd, v);
                }
            }
        }
        for (int64_t i = 0; i < nt; i++) { dist[touched[i]] = INFINITY; done[touched[i]] = 0; }
        count[s] = reached;
        total[s] = sum;
    }
    free(dist); free(done); free(touched); free(heap);
    return 0;
}
