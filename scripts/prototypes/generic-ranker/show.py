import sys, evaluate, rank, load
import evaluate
cfg = rank.DEFAULT
for a in [a for a in sys.argv if '=' in a]:
    k, v = a.split('=', 1); cfg = evaluate.cfg_with(cfg, **{k: eval(v)})
sys.argv=[a for a in sys.argv if '=' not in a]
def show(dsname, cid, k=6, series_of=()):
    d = evaluate.ds(dsname)
    case = [c for c in d['cases'] if c['id']==cid][0]
    t = d['truth'][cid]
    case = dict(case, _oracle=load.iso(t['fault_start']))
    r = rank.rank_case(d, case, cfg, detail=True)
    print(cid, t['service'], t['fault'], 'rank', r['ranked'].index(t['service'])+1, 'onset_idx', r['onset_idx'], 'err', (r['onset']-load.iso(t['fault_start']))/60)
    for s in r['ranked'][:k] + ([t['service']] if t['service'] not in r['ranked'][:k] else []):
        print('   %-45s %.2f p=%.2f'%(s[:45], r['score'][s], r['prob'][s]), {kk: (round(v,2), r['why'][s].get(kk)) for kk,v in r['kinds'][s].items() if v>0})
    grid, i0, ser = rank.case_series(d, case, cfg)
    for key, vals in ser.items():
        if key[0] in series_of:
            print('      ', key[0][:30], key[2], ['%.3g'%v if v is not None else '-' for v in vals[i0:]])
if __name__ == '__main__':
    show(sys.argv[1], sys.argv[2], series_of=sys.argv[3:])
