# PIE-style program: read N, K and N integers from stdin; print how many pairs i < j have
# a[i] + a[j] == K. Quadratic on purpose (FasterPy's program-mode example):
#   fasterpy optimize data/examples/count_pairs/count_pairs.py --tests data/examples/count_pairs/tests
n, k = map(int, input().split())
a = list(map(int, input().split()))
count = 0
for i in range(n):
    for j in range(i + 1, n):
        if a[i] + a[j] == k:
            count += 1
print(count)
