# Input for the K-quant / Q8_1 reference goldens: 33 super-blocks of 256 f32 (LE).
import os, random, struct
HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(31337)
base = open(os.path.join(HERE, 'quant_Q4_0.input.f32'), 'rb').read()
vals = list(struct.unpack('<2048f', base))          # super-blocks 0-7: the Q4_0/Q8_0 golden input
def sb(f): return [f(i) for i in range(256)]
g = lambda: rng.gauss(0, 1)
extra = [
    sb(lambda i: 0.0),                                            # 8  all zeros
    sb(lambda i: 3.3),                                            # 9  constant 3.3
    sb(lambda i: -0.7),                                           # 10 constant -0.7
    sb(lambda i: 1000.0 if i == 77 else 0.0),                     # 11 one spike among zeros
    sb(lambda i: -1000.0 if i == 200 else 1e-3 * g()),            # 12 negative spike among noise
    sb(lambda i: 1e-6 * g()),                                     # 13 ~1e-6 (f16 scales underflow)
    sb(lambda i: 6e4 * (2 * rng.random() - 1)),                   # 14 up to ±6e4
    sb(lambda i: 0.0 if (i // 32) % 2 == 0 else g()),             # 15 alternate zero sub-blocks
    sb(lambda i: 0.5 + 1.5 * rng.random()),                       # 16 all positive
    sb(lambda i: -0.5 - 1.5 * rng.random()),                      # 17 all negative
    sb(lambda i: float((i % 16) - 8)),                            # 18 exact integer steps
    sb(lambda i: (i + 1) * 0.01 * (-1) ** i),                     # 19 alternating, growing
    sb(lambda i: -1e-30 if i == 3 else 0.0),                      # 20 single -1e-30
    sb(lambda i: 1e-14 * g()),                                    # 21 just above GROUP_MAX_EPS
]
for _ in range(10):                                               # 22-31 random, scale per sub-block
    scales = [10 ** rng.uniform(-4, 3) for _ in range(16)]
    extra.append(sb(lambda i: g() * scales[i // 16]))
extra.append(sb(lambda i: -127.0 if i == 0 else (i % 64 - 32) + 0.5))  # 32 exact .5 ties (Q8_K/Q8_1 scale 1)
for s in extra: vals += s
assert len(vals) == 33 * 256
open(os.path.join(HERE, 'ref_input.f32'), 'wb').write(struct.pack('<%df' % len(vals), *vals))
