"""Reference learners for `npm run bench:gbdt` (benchmark harness only, never part of the product).

Reads the binary files bench/gbdt.ts writes (float32 features column-major, uint8 labels), trains
XGBoost 1.7 `tree_method=hist` on one thread and scikit-learn's HistGradientBoostingClassifier
with the same number of trees, depth and learning rate, and prints one JSON line of timings and
held-out AUC, and XGBoost's scoring time on the held-out rows (best of 3). Times are given as wall-clock and as CPU seconds of the process (less
sensitive to other load on a shared machine). Needs Debian's python3-xgboost and python3-sklearn.
"""
import json, sys, time
import numpy as np

def load(prefix, rows, features):
    x = np.fromfile(prefix + '.x.f32', dtype=np.float32).reshape(features, rows).T.copy()
    y = np.fromfile(prefix + '.y.u8', dtype=np.uint8)
    return x, y

def main():
    train, test, rows, test_rows, features, trees, depth, lr = sys.argv[1:9]
    rows, test_rows, features, trees, depth, lr = int(rows), int(test_rows), int(features), int(trees), int(depth), float(lr)
    from sklearn.metrics import roc_auc_score
    xtr, ytr = load(train, rows, features)
    xte, yte = load(test, test_rows, features)
    out = {}
    import xgboost as xgb
    t = time.perf_counter()
    c = time.process_time()
    m = xgb.XGBClassifier(n_estimators=trees, max_depth=depth, learning_rate=lr, tree_method='hist', max_bin=256,
                          nthread=1, reg_lambda=1.0, min_child_weight=1e-3, random_state=0)
    m.fit(xtr, ytr)
    out['xgboost_train_s'] = time.perf_counter() - t
    out['xgboost_train_cpu_s'] = time.process_time() - c
    # Scoring: best of 3 calls (one thread), wall-clock and CPU seconds.
    walls, cpus = [], []
    for _ in range(3):
        t = time.perf_counter()
        c = time.process_time()
        p = m.predict_proba(xte)[:, 1]
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    out['xgboost_predict_s'] = min(walls)
    out['xgboost_predict_cpu_s'] = min(cpus)
    out['xgboost_auc'] = float(roc_auc_score(yte, p))
    from sklearn.ensemble import HistGradientBoostingClassifier
    import os
    os.environ['OMP_NUM_THREADS'] = '1'
    t = time.perf_counter()
    c = time.process_time()
    h = HistGradientBoostingClassifier(max_iter=trees, max_depth=depth, learning_rate=lr, max_leaf_nodes=2 ** depth - 1,
                                       l2_regularization=1.0, early_stopping=False, random_state=0)
    h.fit(xtr, ytr)
    out['sklearn_train_s'] = time.perf_counter() - t
    out['sklearn_train_cpu_s'] = time.process_time() - c
    out['sklearn_auc'] = float(roc_auc_score(yte, h.predict_proba(xte)[:, 1]))
    print(json.dumps(out))

if __name__ == '__main__':
    main()
