"""Set-based generation of a year of case rows for bench/evaluation.py (not a test).

Writes cases, their stages, events and tasks straight into a scratch PostgreSQL database with
`INSERT … SELECT … FROM generate_series` (one statement per chunk of cases, a data-modifying CTE
per table), in the shape the workflow services write them:

* the stage chain of each case: 受理 (accept) → 核实 (verify, for public, hotline, media and Open311
  reports) → 立案 (register, or 不予立案 reject) → 派遣 (dispatch) → 待签收 (dispatched) → 处置中
  (handling) → 核查 (check) → 结案 (close), each stage with its deadline and, once ended, its
  `ended_by` and frozen `on_time`;
* branches: 回退 (return, then a re-dispatch), 协办 (a co-handler task with its sign and feedback,
  or a release), 延期 (an extension request and approval: the handling deadline moves by 24 h and
  the approval event carries the old and new deadlines), 挂账 (suspension: the handling stage ends
  with `on_time = null`; half are written off 销号 weeks later), 返工 (a failed check and a second
  handling pass);
* events with from → to statuses, the acting person of the right role for the case's street and
  community, the department, and the data the services write (`cohandlers`, `task`,
  `old_deadline`…); lead and co-handler tasks with their deadlines, status and `on_time`;
* a case whose next step falls after the horizon stays open where it is (its stage open, the case
  row's status and stage deadline set accordingly).

Deadlines are natural hours (the stage limits of the demo catalogue are in working time; the
counting only needs `on_time` consistent with `ended_at <= deadline`, which holds by
construction). Ids are explicit (case id × 32 + step for events, × 16 for stages, × 4 for tasks)
so that, within a case, id order is time order, as the services' sequences give.
"""

from __future__ import annotations

import datetime as dt
import time

# Hours: the limit of each timed stage (natural hours).
L_ACCEPT, L_VERIFY, L_REGISTER, L_DISPATCH, L_CHECK, L_CLOSE = 1, 4, 1, 1, 4, 2
HANDLE_LIMITS = (4, 24, 72)  # by class
SPEED = 0.5  # a step takes limit × Exp(1) × SPEED: about 86 % on time

LOOKUPS = """
DROP TABLE IF EXISTS bench_grid, bench_street, bench_dept, bench_class;
CREATE TABLE bench_grid AS
SELECT row_number() OVER (ORDER BY g.id) AS idx, g.id AS grid, g.community_id AS comm, g.street_id AS street,
       g.district_id AS dist,
       coalesce((SELECT min(pr.person_id) FROM org_person_regions pr
                 JOIN org_person_roles r ON r.person_id = pr.person_id
                 JOIN org_rolegrant rg ON rg.id = r.rolegrant_id AND rg.role = 'inspector'
                 WHERE pr.region_id = g.community_id),
                (SELECT min(pr.person_id) FROM org_person_regions pr
                 JOIN org_person_roles r ON r.person_id = pr.person_id
                 JOIN org_rolegrant rg ON rg.id = r.rolegrant_id AND rg.role = 'inspector'
                 WHERE pr.region_id = g.street_id)) AS inspector
FROM grid_unitgrid g;
CREATE TABLE bench_street AS
SELECT s.id AS street,
  (SELECT min(p.person_id) FROM org_person_regions p JOIN org_person_roles r ON r.person_id = p.person_id
     JOIN org_rolegrant rg ON rg.id = r.rolegrant_id WHERE p.region_id = s.id AND rg.role = 'operator') AS operator,
  (SELECT min(p.person_id) FROM org_person_regions p JOIN org_person_roles r ON r.person_id = p.person_id
     JOIN org_rolegrant rg ON rg.id = r.rolegrant_id WHERE p.region_id = s.id AND rg.role = 'shift_leader')
     AS shiftlead,
  (SELECT min(p.person_id) FROM org_person_regions p JOIN org_person_roles r ON r.person_id = p.person_id
     JOIN org_rolegrant rg ON rg.id = r.rolegrant_id WHERE p.region_id = s.id AND rg.role = 'dispatcher')
     AS dispatcher,
  (SELECT min(d.id) FROM org_department d WHERE d.region_id = s.id AND d.kind = 'chengguan_squad') AS squad,
  (SELECT min(d.id) FROM org_department d WHERE d.region_id = s.id AND d.kind = 'street_office') AS office
FROM org_region s WHERE s.level = 'street';
CREATE TABLE bench_dept AS
SELECT row_number() OVER (ORDER BY d.id) - 1 AS idx, d.id AS dept,
  (SELECT min(p.id) FROM org_person p JOIN org_person_roles r ON r.person_id = p.id
     JOIN org_rolegrant rg ON rg.id = r.rolegrant_id WHERE p.department_id = d.id AND rg.role = 'handler')
     AS handler
FROM org_department d WHERE d.active;
CREATE TABLE bench_class AS
SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id AS mc FROM catalog_minorclass WHERE active;
"""

# Professional departments (a lead other than the street's squad, or a co-handler).
PRO_KINDS = "('police','housing','landscape','sanitation','water','power','telecom','gas','transport','market','contractor')"


def iso(expr: str) -> str:
    """An ISO 8601 text of a timestamptz, as `datetime.isoformat()` writes it (UTC)."""
    return f"to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


def chunk_sql() -> str:
    """One statement: cases %(lo)s..%(hi)s of %(first)s..%(first)s + %(n)s - 1, reported uniformly
    over %(days)s days from %(start)s (local 07:00–21:00), cut at the horizon %(horizon)s. The
    days follow the ids, as a running city numbers its cases, so the rows lie in the tables
    roughly in time order, as the services append them (an index range scan by instant then reads
    neighbouring pages, not the whole table)."""
    h = "interval '1 hour'"
    sp = SPEED
    return f"""
WITH pro AS (SELECT array_agg(d.id ORDER BY d.id) AS ids FROM org_department d WHERE d.active AND d.kind IN {PRO_KINDS}),
nclass AS (SELECT count(*) AS n FROM bench_class),
ngrid AS (SELECT count(*) AS n FROM bench_grid),
b AS (
  SELECT i AS id,
    %(start)s::timestamptz + floor((i - %(first)s) * %(days)s / %(n)s::float8) * interval '1 day' + interval '7 hours'
      + random() * interval '14 hours' AS t0,
    random() AS r_src, random() AS r_rej, random() AS r_ret, random() AS r_co, random() AS r_rel,
    random() AS r_ext, random() AS r_sus, random() AS r_wo, random() AS r_rw, random() AS r_lead,
    random() AS r_codept, random() AS r_pro,
    1 + floor(random() * (SELECT n FROM ngrid))::int AS gidx,
    floor(random() * (SELECT n FROM nclass))::int AS cidx,
    -ln(1 - random()) AS e1, -ln(1 - random()) AS e2, -ln(1 - random()) AS e3, -ln(1 - random()) AS e4,
    -ln(1 - random()) AS e5, -ln(1 - random()) AS e6, -ln(1 - random()) AS e7, -ln(1 - random()) AS e8,
    -ln(1 - random()) AS e9, -ln(1 - random()) AS e10, -ln(1 - random()) AS e11, -ln(1 - random()) AS e12
  FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) i
),
c AS (
  SELECT b.*, g.grid, g.comm, g.street, g.dist, g.inspector AS gi, s.operator, s.shiftlead, s.dispatcher,
    cl.mc,
    CASE WHEN b.r_src < 0.55 THEN 'inspector' WHEN b.r_src < 0.70 THEN 'public' WHEN b.r_src < 0.85 THEN 'hotline'
         WHEN b.r_src < 0.90 THEN 'video' WHEN b.r_src < 0.95 THEN 'patrol' WHEN b.r_src < 0.97 THEN 'leader'
         WHEN b.r_src < 0.99 THEN 'media' ELSE 'open311' END AS src,
    (ARRAY{list(HANDLE_LIMITS)})[1 + b.cidx %% {len(HANDLE_LIMITS)}] AS lh,
    CASE WHEN b.r_lead < 0.65 THEN s.squad
         ELSE (SELECT ids[1 + floor(b.r_pro * array_length(ids, 1))::int] FROM pro) END AS lead,
    b.r_rej < 0.05 AS rejected, b.r_ret < 0.04 AS returned, b.r_co < 0.10 AS has_co, b.r_rel < 0.2 AS co_rel,
    b.r_sus < 0.015 AS sus, b.r_sus >= 0.015 AND b.r_ext < 0.06 AS ext, b.r_wo < 0.5 AS wo, b.r_rw < 0.08 AS rw,
    s.office
  FROM b JOIN bench_grid g ON g.idx = b.gidx JOIN bench_street s ON s.street = g.street
  JOIN bench_class cl ON cl.idx = b.cidx
),
c2 AS (
  SELECT c.*,
    CASE WHEN r_codept < 0.5 THEN office
         ELSE (SELECT ids[1 + floor((r_codept - 0.5) * 2 * array_length(ids, 1))::int] FROM pro) END AS co0,
    src IN ('public', 'hotline', 'media', 'open311') AS nv,
    CASE WHEN src = 'inspector' THEN gi WHEN src IN ('public', 'open311') THEN NULL ELSE operator END AS reporter
  FROM c
),
t1 AS (
  SELECT c2.*, CASE WHEN NOT has_co THEN NULL WHEN co0 = lead THEN office ELSE co0 END AS co,
    t0 + {L_ACCEPT} * e1 * {sp} * {h} AS t_acc
  FROM c2
),
t2 AS (
  SELECT t1.*, t_acc + CASE WHEN nv THEN {L_VERIFY} * e2 * {sp} ELSE 0 END * {h} AS t_ver FROM t1
),
t3 AS (
  SELECT t2.*, t_ver + {L_REGISTER} * e3 * {sp} * {h} AS t_decide FROM t2
),
t4 AS (
  SELECT t3.*,
    CASE WHEN rejected THEN t_decide END AS t_rej,
    CASE WHEN NOT rejected THEN t_decide END AS t_reg,
    CASE WHEN NOT rejected THEN t_decide + {L_DISPATCH} * e4 * {sp} * {h} END AS t_dis1
  FROM t3
),
t5 AS (
  SELECT t4.*,
    CASE WHEN returned THEN t_dis1 + 2 * e5 * {sp} * {h} END AS t_ret,
    CASE WHEN returned THEN t_dis1 + 2 * e5 * {sp} * {h} + {L_DISPATCH} * e6 * {sp} * {h} ELSE t_dis1 END AS t_dis
  FROM t4
),
t6 AS (
  SELECT t5.*, t_dis + 0.5 * e7 * {h} AS t_sign, lh * e8 * {sp} * {h} AS dh FROM t5
),
t7 AS (
  SELECT t6.*,
    t_dis + lh * {h} AS dl_dis, t_sign + lh * {h} AS dl_h,
    CASE WHEN has_co THEN t_sign + 0.1 * dh END AS t_cosign,
    CASE WHEN has_co THEN t_sign + 0.3 * dh END AS t_coend,
    CASE WHEN ext THEN t_sign + 0.4 * dh END AS t_exq, CASE WHEN ext THEN t_sign + 0.5 * dh END AS t_exa,
    CASE WHEN sus THEN t_sign + 0.4 * dh END AS t_sq, CASE WHEN sus THEN t_sign + 0.5 * dh END AS t_sa,
    CASE WHEN sus AND wo THEN t_sign + 0.5 * dh + interval '20 days' + e9 * interval '5 days' END AS t_wo,
    CASE WHEN NOT sus THEN t_sign + dh END AS t_h1
  FROM t6
),
t8 AS (
  SELECT t7.*,
    CASE WHEN rw THEN t_h1 + {L_CHECK} * e9 * {sp} * {h} END AS t_cf,
    CASE WHEN rw THEN t_h1 + {L_CHECK} * e9 * {sp} * {h} + lh * e10 * {sp} * 0.5 * {h} END AS t_h2,
    CASE WHEN rw THEN t_h1 + {L_CHECK} * e9 * {sp} * {h} + lh * {h} END AS dl_rw
  FROM t7
),
t9 AS (
  SELECT t8.*, coalesce(t_h2, t_h1) + {L_CHECK} * e11 * {sp} * {h} AS t_cp FROM t8
),
t10 AS (
  SELECT t9.*, t_cp + {L_CLOSE} * e12 * {sp} * {h} AS t_close FROM t9
),
-- the horizon: a step after it has not happened (NULL)
p AS MATERIALIZED (
  SELECT id, src, grid, comm, street, dist, mc, gi, operator, shiftlead, dispatcher, reporter, lead, co, lh,
    nv, returned, has_co, co_rel, ext, sus, rw, t0,
    dl_dis, dl_h, dl_rw,
    (SELECT handler FROM bench_dept WHERE dept = lead) AS hl,
    (SELECT handler FROM bench_dept WHERE dept = co) AS hc,
    (SELECT handler FROM bench_dept WHERE dept = (SELECT ids[1 + floor(r_pro * array_length(ids, 1))::int] FROM pro))
      AS hl1x,
    (SELECT ids[1 + floor(r_pro * array_length(ids, 1))::int] FROM pro) AS lead1x,
    CASE WHEN t_acc <= %(horizon)s THEN t_acc END AS t_acc,
    CASE WHEN nv AND t_ver <= %(horizon)s THEN t_ver END AS t_ver,
    CASE WHEN t_rej <= %(horizon)s THEN t_rej END AS t_rej,
    CASE WHEN t_reg <= %(horizon)s THEN t_reg END AS t_reg,
    CASE WHEN t_dis1 <= %(horizon)s THEN t_dis1 END AS t_dis1,
    CASE WHEN t_ret <= %(horizon)s THEN t_ret END AS t_ret,
    CASE WHEN t_dis <= %(horizon)s THEN t_dis END AS t_dis,
    CASE WHEN t_sign <= %(horizon)s THEN t_sign END AS t_sign,
    CASE WHEN t_cosign <= %(horizon)s THEN t_cosign END AS t_cosign,
    CASE WHEN t_coend <= %(horizon)s THEN t_coend END AS t_coend,
    CASE WHEN t_exq <= %(horizon)s THEN t_exq END AS t_exq,
    CASE WHEN t_exa <= %(horizon)s THEN t_exa END AS t_exa,
    CASE WHEN t_sq <= %(horizon)s THEN t_sq END AS t_sq,
    CASE WHEN t_sa <= %(horizon)s THEN t_sa END AS t_sa,
    CASE WHEN t_wo <= %(horizon)s THEN t_wo END AS t_wo,
    CASE WHEN t_h1 <= %(horizon)s THEN t_h1 END AS t_h1,
    CASE WHEN t_cf <= %(horizon)s THEN t_cf END AS t_cf,
    CASE WHEN t_h2 <= %(horizon)s THEN t_h2 END AS t_h2,
    CASE WHEN t_cp <= %(horizon)s THEN t_cp END AS t_cp,
    CASE WHEN t_close <= %(horizon)s THEN t_close END AS t_close
  FROM t10
),
q AS MATERIALIZED (
  SELECT p.*,
    -- the returned first dispatch went to a department that was not the lead
    CASE WHEN returned THEN CASE WHEN lead1x = lead THEN (SELECT ids[1] FROM pro) ELSE lead1x END END AS lead1,
    CASE WHEN returned THEN CASE WHEN lead1x = lead THEN (SELECT handler FROM bench_dept
         WHERE dept = (SELECT ids[1] FROM pro)) ELSE hl1x END END AS hl1,
    CASE WHEN t_exa IS NOT NULL THEN dl_h + interval '24 hours' ELSE dl_h END AS dl_h_now,
    CASE
      WHEN t_rej IS NOT NULL THEN 'rejected'
      WHEN t_wo IS NOT NULL OR t_close IS NOT NULL THEN 'closed'
      WHEN t_sa IS NOT NULL THEN 'suspended'
      WHEN t_cp IS NOT NULL THEN 'to_close'
      WHEN t_h2 IS NOT NULL THEN 'to_check'
      WHEN t_cf IS NOT NULL THEN 'handling'
      WHEN t_h1 IS NOT NULL THEN 'to_check'
      WHEN t_sign IS NOT NULL THEN 'handling'
      WHEN t_dis IS NOT NULL THEN 'dispatched'
      WHEN t_ret IS NOT NULL THEN 'to_dispatch'
      WHEN t_dis1 IS NOT NULL THEN 'dispatched'
      WHEN t_reg IS NOT NULL THEN 'to_dispatch'
      WHEN t_ver IS NOT NULL THEN 'to_register'
      WHEN t_acc IS NOT NULL THEN CASE WHEN nv THEN 'verifying' ELSE 'to_register' END
      ELSE 'reported' END AS status
  FROM p
),
ins_case AS (
  INSERT INTO cases_case (id, number, year, source, minor_class_id, urgency, description, address, lon, lat,
    original_crs, original_lon, original_lat, grid_id, community_id, street_id, district_id, reporter_id,
    reporter_name, reporter_phone, status, stage_deadline, overdue, lead_department_id, rework_count,
    planned_fix_date, written_off_at, registered_at, closed_at, version, created_at, updated_at)
  SELECT q.id, 'B' || lpad(q.id::text, 10, '0'), extract(year FROM q.t0 AT TIME ZONE %(tz)s)::int, q.src, q.mc,
    'normal', 'bench', '', 0, 0, 'wgs84', 0, 0, q.grid, q.comm, q.street, q.dist, q.reporter, '', '', q.status,
    sd.deadline, coalesce(sd.deadline < %(horizon)s, false),
    CASE WHEN q.t_dis IS NOT NULL THEN q.lead WHEN q.t_dis1 IS NOT NULL AND q.t_ret IS NULL THEN q.lead1 END,
    CASE WHEN q.t_cf IS NOT NULL THEN 1 ELSE 0 END,
    CASE WHEN q.t_sa IS NOT NULL AND q.t_wo IS NULL THEN (q.t_sa + interval '60 days')::date END,
    q.t_wo, q.t_reg, coalesce(q.t_close, q.t_wo, q.t_rej), 1, q.t0, %(horizon)s
  FROM q LEFT JOIN LATERAL (SELECT CASE q.status
      WHEN 'reported' THEN q.t0 + {L_ACCEPT} * {h} WHEN 'verifying' THEN q.t_acc + {L_VERIFY} * {h}
      WHEN 'to_register' THEN coalesce(q.t_ver, q.t_acc) + {L_REGISTER} * {h}
      WHEN 'to_dispatch' THEN coalesce(q.t_ret, q.t_reg) + {L_DISPATCH} * {h}
      WHEN 'dispatched' THEN coalesce(q.t_dis, q.t_dis1) + q.lh * {h}
      WHEN 'handling' THEN CASE WHEN q.t_cf IS NOT NULL THEN q.dl_rw ELSE q.dl_h_now END
      WHEN 'to_check' THEN coalesce(q.t_h2, q.t_h1) + {L_CHECK} * {h}
      WHEN 'to_close' THEN q.t_cp + {L_CLOSE} * {h} END AS deadline) sd ON true
  RETURNING 1
),
stg AS (
  SELECT q.id AS case_id, v.*
  FROM q CROSS JOIN LATERAL (VALUES
    (1, 'accept', 'reported', NULL::bigint, q.t0, q.t0 + {L_ACCEPT} * {h}, {L_ACCEPT}, q.t_acc, 'accept', true),
    (2, 'check', 'verifying', NULL, q.t_acc, q.t_acc + {L_VERIFY} * {h}, {L_VERIFY},
       CASE WHEN q.nv THEN q.t_ver END, 'verify', q.nv),
    (3, 'register', 'to_register', NULL, coalesce(q.t_ver, q.t_acc), coalesce(q.t_ver, q.t_acc) + {L_REGISTER} * {h},
       {L_REGISTER}, coalesce(q.t_reg, q.t_rej), CASE WHEN q.t_rej IS NOT NULL THEN 'reject' ELSE 'register' END,
       NOT q.nv OR q.t_ver IS NOT NULL),
    (4, 'dispatch', 'to_dispatch', NULL, q.t_reg, q.t_reg + {L_DISPATCH} * {h}, {L_DISPATCH}, q.t_dis1, 'dispatch',
       true),
    (5, 'handle', 'dispatched', q.lead1, q.t_dis1, q.t_dis1 + q.lh * {h}, q.lh, q.t_ret, 'return', q.returned),
    (6, 'dispatch', 'to_dispatch', NULL, q.t_ret, q.t_ret + {L_DISPATCH} * {h}, {L_DISPATCH}, q.t_dis, 'dispatch',
       q.returned),
    (7, 'handle', 'dispatched', q.lead, q.t_dis, q.dl_dis, q.lh, q.t_sign, 'sign', true),
    (8, 'handle', 'handling', q.lead, q.t_sign, q.dl_h_now, q.lh, coalesce(q.t_h1, q.t_sa),
       CASE WHEN q.t_sa IS NOT NULL THEN 'suspend_approve' ELSE 'handle' END, true),
    (9, 'check', 'to_check', NULL, q.t_h1, q.t_h1 + {L_CHECK} * {h}, {L_CHECK}, coalesce(q.t_cf, q.t_cp),
       CASE WHEN q.t_cf IS NOT NULL THEN 'check_fail' ELSE 'check_pass' END, true),
    (10, 'handle', 'handling', q.lead, q.t_cf, q.dl_rw, q.lh, q.t_h2, 'handle', q.rw),
    (11, 'check', 'to_check', NULL, q.t_h2, q.t_h2 + {L_CHECK} * {h}, {L_CHECK}, q.t_cp, 'check_pass', q.rw),
    (12, 'close', 'to_close', NULL, q.t_cp, q.t_cp + {L_CLOSE} * {h}, {L_CLOSE}, q.t_close, 'close', true)
  ) AS v(k, stage, status, dept, started, deadline, amount, ended, ended_by, applies)
  WHERE v.applies AND v.started IS NOT NULL
),
ins_stage AS (
  INSERT INTO cases_casestage (id, case_id, stage, status, department_id, started_at, deadline, limit_amount,
    limit_unit, ended_at, ended_by, on_time)
  SELECT case_id * 16 + k, case_id, stage, status, dept, started, deadline, amount, 'hour', ended,
    CASE WHEN ended IS NOT NULL THEN ended_by ELSE '' END,
    CASE WHEN ended IS NULL OR ended_by = 'suspend_approve' THEN NULL ELSE ended <= deadline END
  FROM stg
  RETURNING 1
),
ev AS (
  SELECT q.id AS case_id, v.*
  FROM q CROSS JOIN LATERAL (VALUES
    (1, 'report', q.reporter, NULL::bigint, q.t0, '', 'reported', jsonb_build_object('source', q.src)),
    (2, 'accept', q.operator, NULL, q.t_acc, 'reported', CASE WHEN q.nv THEN 'verifying' ELSE 'to_register' END,
       '{{}}'::jsonb),
    (3, 'verify', q.gi, NULL, q.t_ver, 'verifying', 'to_register', '{{}}'),
    (4, 'reject', q.shiftlead, NULL, q.t_rej, 'to_register', 'rejected', '{{}}'),
    (5, 'register', q.shiftlead, NULL, q.t_reg, 'to_register', 'to_dispatch', '{{}}'),
    (6, 'dispatch', q.dispatcher, q.lead1, CASE WHEN q.returned THEN q.t_dis1 END, 'to_dispatch', 'dispatched',
       jsonb_build_object('lead', q.lead1, 'cohandlers', '[]'::jsonb)),
    (7, 'return', q.hl1, q.lead1, q.t_ret, 'dispatched', 'to_dispatch', '{{}}'),
    (8, 'dispatch', q.dispatcher, q.lead, q.t_dis, 'to_dispatch', 'dispatched',
       jsonb_build_object('lead', q.lead, 'cohandlers',
         CASE WHEN q.has_co THEN jsonb_build_array(q.co) ELSE '[]'::jsonb END)),
    (9, 'sign', q.hl, q.lead, q.t_sign, 'dispatched', 'handling', '{{}}'),
    (10, 'cohandler_sign', q.hc, q.co, q.t_cosign, 'handling', 'handling',
       jsonb_build_object('task', q.id * 4 + 2)),
    (11, CASE WHEN q.co_rel THEN 'cohandler_release' ELSE 'cohandler_feedback' END,
       CASE WHEN q.co_rel THEN q.dispatcher ELSE q.hc END, q.co, q.t_coend, 'handling', 'handling',
       jsonb_build_object('task', q.id * 4 + 2)),
    (12, 'extend_request', q.hl, q.lead, q.t_exq, 'handling', 'handling',
       jsonb_build_object('request', q.id * 2, 'amount', '24', 'unit', 'hour')),
    (13, 'extend_approve', q.shiftlead, q.lead, q.t_exa, 'handling', 'handling',
       jsonb_build_object('request', q.id * 2, 'old_deadline', {iso("q.dl_h")},
                          'new_deadline', {iso("q.dl_h + interval '24 hours'")})),
    (14, 'suspend_request', q.hl, q.lead, q.t_sq, 'handling', 'handling',
       jsonb_build_object('request', q.id * 2 + 1, 'planned_fix_date', (q.t_sq + interval '60 days')::date)),
    (15, 'suspend_approve', q.shiftlead, q.lead, q.t_sa, 'handling', 'suspended',
       jsonb_build_object('request', q.id * 2 + 1, 'planned_fix_date', (q.t_sq + interval '60 days')::date)),
    (16, 'write_off', q.shiftlead, NULL, q.t_wo, 'suspended', 'closed', '{{}}'),
    (17, 'handle', q.hl, q.lead, q.t_h1, 'handling', 'to_check', '{{}}'),
    (18, 'check_fail', q.gi, q.lead, q.t_cf, 'to_check', 'handling', jsonb_build_object('rework', 1)),
    (19, 'handle', q.hl, q.lead, q.t_h2, 'handling', 'to_check', '{{}}'),
    (20, 'check_pass', q.gi, NULL, q.t_cp, 'to_check', 'to_close', '{{}}'),
    (21, 'close', q.shiftlead, NULL, q.t_close, 'to_close', 'closed', '{{}}')
  ) AS v(k, action, actor, dept, at, from_status, to_status, data)
  WHERE v.at IS NOT NULL
),
ins_event AS (
  INSERT INTO cases_caseevent (id, case_id, action, actor_id, actor_name, department_id, at, from_status,
    to_status, note, data)
  SELECT case_id * 32 + k, case_id, action, actor, '', dept, at, from_status, to_status, '', data FROM ev
  RETURNING 1
),
tk AS (
  SELECT q.id AS case_id, v.*
  FROM q CROSS JOIN LATERAL (VALUES
    (0, q.lead1, 'lead', CASE WHEN q.t_ret IS NOT NULL THEN 'returned' ELSE 'dispatched' END, q.t_dis1,
       q.t_dis1 + q.lh * {h}, NULL::timestamptz, NULL::timestamptz, NULL::boolean, q.t_ret IS NULL,
       q.returned AND q.t_dis1 IS NOT NULL),
    (1, q.lead, 'lead',
       CASE WHEN coalesce(q.t_h2, CASE WHEN q.t_cf IS NULL THEN q.t_h1 END) IS NOT NULL THEN 'done'
            WHEN q.t_sign IS NOT NULL THEN 'signed' ELSE 'dispatched' END,
       q.t_dis, CASE WHEN q.t_cf IS NOT NULL THEN q.dl_rw WHEN q.t_exa IS NOT NULL THEN q.dl_h_now ELSE q.dl_dis END,
       q.t_sign, coalesce(q.t_h2, CASE WHEN q.t_cf IS NULL THEN q.t_h1 END),
       CASE WHEN q.t_h2 IS NOT NULL THEN q.t_h2 <= q.dl_rw
            WHEN q.t_cf IS NULL AND q.t_h1 IS NOT NULL THEN q.t_h1 <= CASE WHEN q.t_exa IS NOT NULL THEN q.dl_h_now
                 ELSE q.dl_dis END END,
       true, q.t_dis IS NOT NULL),
    (2, q.co, 'co',
       CASE WHEN q.t_coend IS NOT NULL THEN CASE WHEN q.co_rel THEN 'released' ELSE 'done' END
            WHEN q.t_cosign IS NOT NULL THEN 'signed' ELSE 'dispatched' END,
       q.t_dis, q.dl_dis, q.t_cosign, CASE WHEN NOT q.co_rel THEN q.t_coend END,
       CASE WHEN NOT q.co_rel AND q.t_coend IS NOT NULL THEN q.t_coend <= q.dl_dis END,
       true, q.has_co AND q.t_dis IS NOT NULL)
  ) AS v(k, dept, role, status, dispatched, deadline, signed, done, on_time, cur, applies)
  WHERE v.applies
)
INSERT INTO cases_casetask (id, case_id, department_id, role, status, dispatched_at, deadline, signed_at, done_at,
  on_time, result, current)
SELECT case_id * 4 + k, case_id, dept, role, status, dispatched, deadline, signed, done, on_time,
  CASE WHEN done IS NOT NULL THEN 'bench' ELSE '' END, cur
FROM tk
"""


def generate(
    dsn: str,
    cases: int,
    start: dt.datetime,
    days: int,
    horizon: dt.datetime,
    tz: str,
    chunk: int,
    say,
    *,
    first_id: int = 1,
    jobs: int = 2,
    seed: float = 0.42,
):
    """Write `cases` cases (ids first_id…) in chunks, `jobs` statements at a time (one connection
    each). Each chunk seeds the random generator from its first
    id, so the rows are the same whatever `jobs` is."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    def connect():
        conn = psycopg.connect(dsn)
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET jit = off")  # compiling this statement would take longer than running it
        conn.commit()
        return conn

    with connect() as conn:
        conn.execute(LOOKUPS)
        conn.commit()
    sql = chunk_sql()
    local = threading.local()
    conns = []
    lock = threading.Lock()
    done = [0]
    t0 = time.perf_counter()
    last = first_id + cases - 1

    def one(lo: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = connect()
            with lock:
                conns.append(local.conn)
        hi = min(last, lo + chunk - 1)
        conn = local.conn
        conn.execute("SELECT setseed(%s)", [((lo * 2654435761 + int(seed * 1e6)) % 2_000_000) / 1e6 - 1])
        conn.execute(
            sql,
            {
                "lo": lo,
                "hi": hi,
                "first": first_id,
                "n": cases,
                "start": start,
                "days": days,
                "horizon": horizon,
                "tz": tz,
            },
        )
        conn.commit()
        with lock:
            done[0] += hi - lo + 1
            rate = done[0] / (time.perf_counter() - t0)
            say(f"  cases {done[0]:,} / {cases:,} ({rate:,.0f} a second)")

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for future in [pool.submit(one, lo) for lo in range(first_id, last + 1, chunk)]:
                future.result()
    finally:
        for conn in conns:
            conn.close()


TABLES = ("cases_case", "cases_casestage", "cases_caseevent", "cases_casetask")


def drop_indexes(conn) -> list[str]:
    """Drop every index but the primary keys of the case tables (a bulk load then builds each
    index once, sorted, instead of growing it row by row); returns the statements that restore them."""
    restore = []
    rows = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u'""",
        [list(TABLES)],
    ).fetchall()
    for table, name, definition in rows:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    rows = conn.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary""",
        [list(TABLES)],
    ).fetchall()
    for name, definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    conn.commit()
    return restore


def restore_indexes(conn, statements: list[str]) -> None:
    conn.execute("SET maintenance_work_mem = '1GB'")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    for table in TABLES:
        conn.execute(f"ANALYZE {table}")
    conn.commit()
