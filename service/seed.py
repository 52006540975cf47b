"""Demo data (``chain-ledger seed --demo``): the departments and chains of the policy, Wuhan's districts and
about forty projects with a real stage history.

Everything is written through the use cases, so every row is audited (actor ``system``, role admin, no
request id), in one transaction. The data is a hand-written table, so it is the same on every run; business
dates are fixed 2025/2026 dates, and nothing is ever dated after ``today``: a signing date still in the future
is brought back to ``today`` and a later step whose date has not come yet is simply not taken (the project
waits at its earlier stage). Running it again skips what exists (by code and by ``external_ref``) and writes
nothing, not even an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from service.config import get_settings
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.db.projects import ProjectQueries
from service.db.reference import ReferenceRepo
from service.domain.access import SYSTEM
from service.domain.context import Ctx
from service.domain.stages import LISTS, Stage
from service.schemas.projects import MilestonesInput, ProjectCreate, TransitionCreate
from service.schemas.reference import (
    ChainCreate,
    DepartmentCreate,
    DistrictCreate,
    DistrictKind,
)
from service.usecases.projects import create_project, transition_project
from service.usecases.reference import create_chain, create_department, create_district

# ---------------------------------------------------------------- reference data

#: The departments named by 武政办〔2021〕100号.
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("FGW", "市发改委"),
    ("JXJ", "市经信局"),
    ("KJJ", "市科技局"),
    ("SWJ", "市商务局"),
    ("ZSB", "市招商办"),
    ("CJJ", "市城建局"),
    ("JRJ", "市金融工作局"),
)

_D, _Z = DistrictKind.DISTRICT, DistrictKind.DEVELOPMENT_ZONE

#: Wuhan's seven central and six new-city districts, and its four functional zones.
DISTRICTS: tuple[tuple[str, str, DistrictKind], ...] = (
    ("JIANGAN", "江岸区", _D),
    ("JIANGHAN", "江汉区", _D),
    ("QIAOKOU", "硚口区", _D),
    ("HANYANG", "汉阳区", _D),
    ("WUCHANG", "武昌区", _D),
    ("QINGSHAN", "青山区", _D),
    ("HONGSHAN", "洪山区", _D),
    ("DONGXIHU", "东西湖区", _D),
    ("CAIDIAN", "蔡甸区", _D),
    ("JIANGXIA", "江夏区", _D),
    ("HUANGPI", "黄陂区", _D),
    ("XINZHOU", "新洲区", _D),
    ("HANNAN", "汉南区", _D),
    ("DHGX", "东湖新技术开发区", _Z),
    ("WHJK", "武汉经济技术开发区", _Z),
    ("DHFJ", "东湖生态旅游风景区", _Z),
    ("CJXQ", "长江新区", _Z),
)

#: The chains named by the policy: (code, name, leader, lead department, benchmark city).
CHAINS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ICT", "光芯屏端网（新一代信息技术）", "分管工业和信息化的副市长", "JXJ", "深圳"),
    ("AUTO", "汽车制造", "分管工业的副市长", "JXJ", "上海"),
    ("EQUIP", "高端装备", "分管发展改革的副市长", "FGW", "苏州"),
    ("MATERIAL", "先进基础材料", "分管商务和招商的副市长", "SWJ", "合肥"),
    ("HEALTH", "大健康和生物技术", "分管科技的副市长", "KJJ", "成都"),
)

# ---------------------------------------------------------------- projects


@dataclass(frozen=True, slots=True)
class DemoProject:
    ref: str
    name: str
    chain: str
    district: str
    investor: str
    planned: str  # 万元
    key: bool
    milestones: tuple[str, ...]  # signed, started, in_production, at_capacity — as far as the project got
    cancelled: tuple[str, str] | None = None  # (date, reason)


def _p(ref, name, chain, district, investor, planned, key, *milestones, cancelled=None) -> DemoProject:  # noqa: ANN001
    return DemoProject(ref, name, chain, district, investor, planned, key, tuple(milestones), cancelled)


#: Forty projects signed in 2025 and 2026: names and investors are made up ("某某…" stands for a company).
PROJECTS: tuple[DemoProject, ...] = (
    _p("ZSB-2025-0001", "12英寸晶圆制造项目", "ICT", "DHGX", "某某半导体有限公司", "300000", True,
       "2025-01-10", "2025-03-18", "2026-04-28"),
    _p("ZSB-2025-0002", "新能源汽车整车制造基地项目", "AUTO", "WHJK", "某某新能源汽车有限公司", "200000", True,
       "2025-01-16", "2025-04-08", "2026-03-30"),
    _p("ZSB-2025-0003", "体外诊断试剂生产项目", "HEALTH", "DHGX", "某某生物科技有限公司", "8000", False,
       "2025-01-22", "2025-02-26", "2025-08-15", "2026-02-10"),
    _p("ZSB-2025-0004", "工业机器人整机及核心部件项目", "EQUIP", "DONGXIHU", "某某智能装备有限公司", "35000", True,
       "2025-02-12", "2025-04-15", "2025-12-20", "2026-07-15"),
    _p("ZSB-2025-0005", "高端汽车用钢深加工项目", "MATERIAL", "QINGSHAN", "某某钢材加工有限公司", "60000", False,
       "2025-02-20", "2025-05-10", "2026-01-18"),
    _p("ZSB-2025-0006", "光模块研发生产基地项目", "ICT", "DHGX", "某某光电科技有限公司", "45000", True,
       "2025-03-05", "2025-04-22", "2025-10-30", "2026-04-15"),
    _p("ZSB-2025-0007", "汽车电子控制器项目", "AUTO", "CAIDIAN", "某某汽车电子有限公司", "12000", False,
       "2025-03-12", "2025-06-05", "2026-02-26", "2026-09-20"),
    _p("ZSB-2025-0008", "医用防护及耗材生产项目", "HEALTH", "DONGXIHU", "某某医疗用品有限公司", "5000", False,
       "2025-03-20", cancelled=("2025-09-15", "投资方调整经营策略，项目终止")),
    _p("ZSB-2025-0009", "锂电池正极材料项目", "MATERIAL", "XINZHOU", "某某新材料有限公司", "80000", True,
       "2025-04-08", "2025-07-01", "2026-05-12"),
    _p("ZSB-2025-0010", "高端数控机床生产基地项目", "EQUIP", "JIANGXIA", "某某机床有限公司", "28000", False,
       "2025-04-18", "2025-08-12"),
    _p("ZSB-2025-0011", "化合物半导体外延片项目", "ICT", "DHGX", "某某化合物半导体有限公司", "65000", True,
       "2025-05-09", "2025-07-30"),
    _p("ZSB-2025-0012", "动力电池电芯及模组项目", "AUTO", "HANNAN", "某某动力电池有限公司", "120000", True,
       "2025-05-20", "2025-08-26", "2026-08-18"),
    _p("ZSB-2025-0013", "创新药研发生产基地项目", "HEALTH", "DHGX", "某某药业有限公司", "42000", True,
       "2025-06-06", "2025-09-10"),
    _p("ZSB-2025-0014", "航空用高性能铝合金项目", "MATERIAL", "HANNAN", "某某铝业有限公司", "25000", False,
       "2025-06-18"),
    _p("ZSB-2025-0015", "航空航天精密零部件项目", "EQUIP", "HUANGPI", "某某航空科技有限公司", "18000", False,
       "2025-07-03", "2025-09-25", "2026-06-30"),
    _p("ZSB-2025-0016", "光纤预制棒扩产项目", "ICT", "JIANGXIA", "某某光纤光缆有限公司", "55000", False,
       "2025-07-15", "2025-10-20", cancelled=("2026-03-18", "市场需求下降，投资方决定终止扩产")),
    _p("ZSB-2025-0017", "智能网联汽车测试基地项目", "AUTO", "WHJK", "某某智能网联科技有限公司", "15000", False,
       "2025-08-06", "2025-11-12"),
    _p("ZSB-2025-0018", "高端医疗影像设备项目", "HEALTH", "JIANGAN", "某某医疗器械有限公司", "9500", False,
       "2025-08-22", "2025-10-28", "2026-06-12"),
    _p("ZSB-2025-0019", "智能电网装备制造项目", "EQUIP", "QINGSHAN", "某某电气有限公司", "22000", False,
       "2025-09-10"),
    _p("ZSB-2025-0020", "电子级化学品项目", "MATERIAL", "DHGX", "某某电子材料有限公司", "16000", False,
       "2025-10-14", "2026-01-20"),
    _p("ZSB-2025-0021", "工业互联网平台及数据中心项目", "ICT", "HONGSHAN", "某某信息技术有限公司", "30000", False,
       "2025-11-05", "2026-02-27"),
    _p("ZSB-2025-0022", "电驱动系统生产项目", "AUTO", "CAIDIAN", "某某驱动技术有限公司", "9000", False,
       "2025-12-02", "2026-03-10", "2026-10-22"),
    _p("ZSB-2026-0001", "柔性AMOLED显示模组项目", "ICT", "DHGX", "某某显示技术有限公司", "150000", True,
       "2026-01-08", "2026-03-26"),
    _p("ZSB-2026-0002", "疫苗研发及产业化基地项目", "HEALTH", "DHGX", "某某生物制品有限公司", "38000", True,
       "2026-01-15", "2026-04-20"),
    _p("ZSB-2026-0003", "氢燃料电池系统项目", "AUTO", "WHJK", "某某氢能科技有限公司", "26000", False,
       "2026-01-27", "2026-05-18"),
    _p("ZSB-2026-0004", "激光加工装备产业园项目", "EQUIP", "DONGXIHU", "某某激光装备有限公司", "20000", False,
       "2026-02-10", "2026-04-28", "2026-11-06"),
    _p("ZSB-2026-0005", "高性能碳纤维复合材料项目", "MATERIAL", "QINGSHAN", "某某复合材料有限公司", "48000", True,
       "2026-02-24", "2026-06-15"),
    _p("ZSB-2026-0006", "5G通信设备研发制造项目", "ICT", "WUCHANG", "某某通信技术有限公司", "7000", False,
       "2026-03-06", "2026-04-10", "2026-09-28"),
    _p("ZSB-2026-0007", "康复辅具及智能养老设备项目", "HEALTH", "HONGSHAN", "某某健康科技有限公司", "3500", False,
       "2026-03-17", "2026-05-06"),
    _p("ZSB-2026-0008", "汽车轻量化零部件项目", "AUTO", "HANNAN", "某某汽车零部件有限公司", "11000", False,
       "2026-03-30", cancelled=("2026-08-20", "项目用地条件未能落实，双方协商终止")),
    _p("ZSB-2026-0009", "存储芯片封装测试项目", "ICT", "DHGX", "某某存储科技有限公司", "90000", True,
       "2026-04-14", "2026-07-08"),
    _p("ZSB-2026-0010", "轨道交通装备检修基地项目", "EQUIP", "JIANGXIA", "某某轨道装备有限公司", "14000", False,
       "2026-04-29"),
    _p("ZSB-2026-0011", "特种玻璃基板材料项目", "MATERIAL", "XINZHOU", "某某特种玻璃有限公司", "32000", False,
       "2026-05-19", "2026-08-25"),
    _p("ZSB-2026-0012", "中药配方颗粒生产项目", "HEALTH", "QIAOKOU", "某某中药科技有限公司", "6000", False,
       "2026-06-03"),
    _p("ZSB-2026-0013", "车规级芯片模组项目", "AUTO", "WHJK", "某某车联科技有限公司", "40000", True,
       "2026-06-22"),
    _p("ZSB-2026-0014", "智能终端生产基地项目", "ICT", "HANYANG", "某某智能终端有限公司", "18500", False,
       "2026-07-10", "2026-09-15"),
    _p("ZSB-2026-0015", "智能制造装备产业园项目", "EQUIP", "CJXQ", "某某智能制造有限公司", "60000", True,
       "2026-08-05"),
    _p("ZSB-2026-0016", "新型绿色建材项目", "MATERIAL", "CAIDIAN", "某某建材科技有限公司", "4500", False,
       "2026-09-09"),
    _p("ZSB-2026-0017", "高端植介入医疗器械项目", "HEALTH", "DHGX", "某某医疗科技有限公司", "13000", False,
       "2026-10-13"),
    _p("ZSB-2026-0018", "软件和信息服务外包中心项目", "ICT", "JIANGHAN", "某某软件有限公司", "2800", False,
       "2026-11-03"),
)

NOTES: dict[Stage, str] = {
    Stage.STARTED: "项目开工建设",
    Stage.IN_PRODUCTION: "首条产线建成投产",
    Stage.AT_CAPACITY: "达到设计产能",
}


class _Clock:
    """Strictly increasing ``now`` for each write, so project ids (ULIDs) sort in creation order."""

    def __init__(self, today: date):
        self.today = today
        self.last: datetime | None = None

    def ctx(self) -> Ctx:
        now = datetime.now(UTC)
        if self.last is not None and now <= self.last + timedelta(milliseconds=1):
            now = self.last + timedelta(milliseconds=1)
        self.last = now
        return Ctx(actor=SYSTEM, request_id=None, now=now, today=self.today)


def _seed_reference(session: Session, clock: _Clock) -> int:
    repo = ReferenceRepo(session)
    new = 0
    for code, name in DEPARTMENTS:
        if repo.department(code) is None:
            create_department(session, ctx=clock.ctx(), data=DepartmentCreate(code=code, name=name))
            new += 1
    for code, name, kind in DISTRICTS:
        if repo.district(code) is None:
            create_district(session, ctx=clock.ctx(), data=DistrictCreate(code=code, name=name, kind=kind))
            new += 1
    for code, name, leader, department, city in CHAINS:
        if repo.chain(code) is None:
            create_chain(session, ctx=clock.ctx(), data=ChainCreate(
                code=code, name=name, leader=leader, lead_department=department, benchmark_city=city,
            ))
            new += 1
    return new


def _seed_project(session: Session, clock: _Clock, demo: DemoProject) -> int:
    """Create one project at ``signed`` and walk it forward; return the number of transitions made."""
    today = clock.today
    signed = min(date.fromisoformat(demo.milestones[0]), today)
    p = create_project(session, ctx=clock.ctx(), data=ProjectCreate(
        external_ref=demo.ref, name=demo.name, chain=demo.chain, district=demo.district, investor=demo.investor,
        planned_investment=Decimal(demo.planned), is_key=demo.key, stage=Stage.SIGNED,
        milestones=MilestonesInput(signed=signed),
    ))
    transitions = 0
    for stage, text in zip(LISTS[1:], demo.milestones[1:], strict=False):
        on = date.fromisoformat(text)
        if on > today:  # not reached yet: the project waits at its current stage
            return transitions
        transition_project(session, ctx=clock.ctx(), project_id=p.id, if_match=None,
                           data=TransitionCreate(to=stage, on=on, note=NOTES[stage]))
        transitions += 1
    if demo.cancelled is not None:
        on = date.fromisoformat(demo.cancelled[0])
        if on <= today:
            transition_project(session, ctx=clock.ctx(), project_id=p.id, if_match=None,
                               data=TransitionCreate(to=Stage.CANCELLED, on=on, reason=demo.cancelled[1]))
            transitions += 1
    return transitions


def seed_demo(database_url: str, *, today: date | None = None) -> str:
    """Load the demo (skipping what exists) and return a one-line summary."""
    if today is None:
        today = datetime.now(get_settings().tz).date()
    clock = _Clock(today)
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine), write=True) as session:
            new = _seed_reference(session, clock)
            projects = ProjectQueries(session)
            transitions = 0
            for demo in PROJECTS:
                if projects.by_external_ref(demo.ref) is not None:
                    continue
                transitions += _seed_project(session, clock, demo)
                new += 1
    finally:
        engine.dispose()
    return (
        f"demo: {len(DEPARTMENTS)} departments, {len(DISTRICTS)} districts, {len(CHAINS)} chains, "
        f"{len(PROJECTS)} projects ({new} new, {transitions} transitions)"
    )
