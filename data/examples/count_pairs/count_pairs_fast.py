from collections import Counter

n, k = map(int, input().split())
a = list(map(int, input().split()))
seen = Counter()
count = 0
for x in a:
    count += seen[k - x]
    seen[x] += 1
print(count)
