"""A stored run as a Spark ML `PipelineModel`: deep features -> the team's members as
Sparkling Water MOJO models -> the team's predictions.

    model = PipelineModel.load("runs/store/local/pipeline")      # pyspark + Sparkling Water
    predictions = model.transform(images)                       # id, label, pixels

The stages:

- `DeepFeatures` turns the `pixels` column (784 bytes) into the autoencoders' features
  with their stored networks: the numpy forward pass, one Arrow batch at a time on the
  executors (`mapInArrow`), exactly H2O's `deepfeatures`;
- each deep-learning member is a `NetworkProbabilities` stage: its network in numpy, a
  vectorized pass per Arrow batch (3.6x its MOJO's speed on the default team);
  any other member (GBM, DRF, GLM...) is a Sparkling Water `H2OMOJOModel` with its own
  prediction columns; both run on the executors without an H2O cluster;
- `TeamPredictions` combines the members' class probabilities by the team's rule
  (`team.rules`: its name and weights): the team's class, the vote, the team's
  probability of each class, the low-confidence flag and each member's class;
- for a run with out-of-distribution detectors, right after `DeepFeatures`: the
  isolation forest's MOJO (`H2OMOJOModel`) and `OutOfDistributionFlags` (its score and
  an autoencoder's reconstruction error in numpy, each flagged at its threshold), whose
  four columns `TeamPredictions` carries to the output.

Every stage saves and loads with Spark ML persistence: ours through
`DefaultParamsWritable`/`DefaultParamsReadable` (the networks as a small Parquet table
beside the parameters), the MOJO members through Sparkling Water's own writer. Loading needs
pyspark and the Sparkling Water package, no H2O cluster.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable, DefaultParamsWriter

from sparkling_mnist.errors import StoreError
from sparkling_mnist.network.encoder_chain import ChainLink, feature_batch, feature_schema
from sparkling_mnist.network.forward import forward, reconstruction_error
from sparkling_mnist.network.spec import NetworkSpec
from sparkling_mnist.ood.flags import (
    ANOMALY_FLAG,
    ANOMALY_SCORE,
    OOD_COLUMNS,
    RECONSTRUCTION_ERROR,
    RECONSTRUCTION_FLAG,
    Thresholds,
    ood_columns,
)
from sparkling_mnist.schema import PIXEL_COLUMNS
from sparkling_mnist.scoring.plan import ScoringPlan, team_predictions
from sparkling_mnist.store.model_store import ModelStore
from sparkling_mnist.team.rules import TeamRule

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

NETWORKS_FOLDER = "networks"  # beside a DeepFeatures stage's metadata: name, .npz bytes


def network_bytes(spec: NetworkSpec) -> bytes:
    """A network spec as the bytes of its `.npz` file."""
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-network-") as folder:
        return spec.save(Path(folder) / "network.npz").read_bytes()


def network_from_bytes(data: bytes) -> NetworkSpec:
    """The network spec of `.npz` bytes written by `network_bytes`."""
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-network-") as folder:
        path = Path(folder) / "network.npz"
        path.write_bytes(data)
        return NetworkSpec.load(path)


class _NetworksWriter(DefaultParamsWriter):  # type: ignore[misc]
    """The stage's parameters (metadata), then its networks as a Parquet table."""

    def saveImpl(self, path: str) -> None:  # noqa: N802 - pyspark's name
        super().saveImpl(path)
        rows = [(name, bytearray(network_bytes(spec))) for name, spec in self.instance.networks.items()]
        table = self.sparkSession.createDataFrame(rows, "name string, network binary")
        table.coalesce(1).write.parquet(f"{path}/{NETWORKS_FOLDER}")


class _NetworksReader(DefaultParamsReader):  # type: ignore[misc]
    """The stage with its parameters, then its networks from their Parquet table."""

    def load(self, path: str) -> Any:
        instance = super().load(path)
        rows = self.sparkSession.read.parquet(f"{path}/{NETWORKS_FOLDER}").collect()
        instance.networks = {row["name"]: network_from_bytes(bytes(row["network"])) for row in rows}
        return instance


class _NetworksPersistence:
    """Spark ML persistence of a stage that holds numpy networks (`self.networks`): its
    parameters, then the networks as a Parquet table."""

    @classmethod
    def read(cls) -> _NetworksReader:
        """The reader: the parameters, then the networks' table."""
        return _NetworksReader(cls)

    def write(self) -> _NetworksWriter:
        """The writer: the parameters, then the networks' table."""
        return _NetworksWriter(self)


class DeepFeatures(_NetworksPersistence, Transformer, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """`id`, `label`, `pixels` -> `id`, `label`, the kept pixel columns (px0..px783 as
    numbers, for members that read pixels) and the used autoencoders' features."""

    chain = Param(Params._dummy(), "chain", "JSON: the autoencoders [name, input, hidden] in dependency order")
    used = Param(Params._dummy(), "used", "autoencoders whose features are output", TypeConverters.toListString)
    kept_pixels = Param(Params._dummy(), "kept_pixels", "pixel columns output as numbers", TypeConverters.toListString)

    def __init__(self) -> None:
        super().__init__()
        self.networks: dict[str, NetworkSpec] = {}
        self._setDefault(chain="[]", used=[], kept_pixels=[])

    @classmethod
    def of(
        cls, links: Sequence[ChainLink], networks: Mapping[str, NetworkSpec], used: Sequence[str], kept: Sequence[str]
    ) -> DeepFeatures:
        """The stage for these autoencoders (in dependency order) and their networks."""
        stage = cls()
        stage._set(chain=json.dumps([[link.name, link.input, link.hidden] for link in links]))
        stage._set(used=list(used), kept_pixels=list(kept))
        stage.networks = dict(networks)
        return stage

    def links(self) -> list[ChainLink]:
        """The autoencoders, in dependency order."""
        return [ChainLink(name, source, int(hidden)) for name, source, hidden in json.loads(self.getOrDefault("chain"))]

    def schema(self) -> pa.Schema:
        """The Arrow schema of the output."""
        return feature_schema(self.links(), self.getOrDefault("used"), self.getOrDefault("kept_pixels"))

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql.pandas.types import from_arrow_schema

        links, networks = self.links(), dict(self.networks)
        used, kept = list(self.getOrDefault("used")), list(self.getOrDefault("kept_pixels"))
        missing = [link.name for link in links if link.name not in networks]
        if missing:
            raise ValueError(f"DeepFeatures: no network for {missing} (the stage was not built or loaded whole)")

        def encode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield feature_batch(batch, links, networks, used, kept)

        return dataset.select("id", "label", "pixels").mapInArrow(encode, from_arrow_schema(self.schema()))


class NetworkProbabilities(_NetworksPersistence, Transformer, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """Deep-learning members scored by their networks in numpy, one Arrow batch at a time
    (what their MOJOs compute, vectorized, all members in one pass over the rows):
    appends `probability_<member>_<class>` for every member and class to the input's
    columns (which must hold the networks' inputs)."""

    members = Param(Params._dummy(), "members", "the members scored here", TypeConverters.toListString)
    classes = Param(Params._dummy(), "classes", "the label's classes, output order", TypeConverters.toListInt)

    def __init__(self) -> None:
        super().__init__()
        self.networks: dict[str, NetworkSpec] = {}
        self._setDefault(members=[], classes=[])

    @classmethod
    def of(cls, networks: Mapping[str, NetworkSpec], classes: Sequence[int]) -> NetworkProbabilities:
        """The stage of these members' networks (by member name)."""
        stage = cls()
        stage._set(members=list(networks), classes=list(classes))
        stage.networks = dict(networks)
        return stage

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

        members, classes = list(self.getOrDefault("members")), list(self.getOrDefault("classes"))
        plans = []  # per member: its network, its input columns, its output order
        schema = to_arrow_schema(dataset.schema)
        for member in members:
            spec = self.networks[member]
            position = {label: index for index, label in enumerate(spec.class_labels)}
            missing = [klass for klass in classes if str(klass) not in position]
            if missing:
                raise ValueError(f"member {member}: its network has no class {missing} (classes {spec.class_labels})")
            plans.append((spec, list(spec.input_columns), [position[str(klass)] for klass in classes]))
            for klass in classes:
                schema = schema.append(pa.field(network_probability_column(member, klass), pa.float64()))

        def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                columns = list(batch.columns)
                for spec, inputs, order in plans:
                    x = np.column_stack([batch.column(name).to_numpy(zero_copy_only=False) for name in inputs])
                    probabilities = forward(spec, x.astype(np.float64))[:, order]
                    columns += [pa.array(probabilities[:, i]) for i in range(len(order))]
                yield pa.RecordBatch.from_arrays(columns, schema=schema)

        return dataset.mapInArrow(score, from_arrow_schema(schema))


class OutOfDistributionFlags(_NetworksPersistence, Transformer, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """The out-of-distribution scores and flags of every row: the isolation forest's
    anomaly score (its MOJO stage's `normalizedScore`, H2O's `predict`) and a pixel
    autoencoder's reconstruction error (its network in numpy on the pixel columns,
    exactly H2O's `anomaly`), each flagged above its threshold. Replaces the forest's
    MOJO columns with `anomaly_score`, `anomaly_flag`, `reconstruction_error`,
    `reconstruction_flag`; every other input column is kept."""

    forest_cols = Param(
        Params._dummy(),
        "forest_cols",
        "the isolation forest MOJO stage's prediction and detailed prediction columns",
        TypeConverters.toListString,
    )
    autoencoder = Param(Params._dummy(), "autoencoder", "whose reconstruction error", TypeConverters.toString)
    anomaly_threshold = Param(Params._dummy(), "anomaly_threshold", "flag above", TypeConverters.toFloat)
    reconstruction_threshold = Param(Params._dummy(), "reconstruction_threshold", "flag above", TypeConverters.toFloat)

    def __init__(self) -> None:
        super().__init__()
        self.networks: dict[str, NetworkSpec] = {}
        self._setDefault(forest_cols=[], autoencoder="", anomaly_threshold=1.0, reconstruction_threshold=0.0)

    @classmethod
    def of(cls, forest_cols: tuple[str, str], autoencoder: str, network: NetworkSpec, thresholds: Thresholds) -> Any:
        """The stage for the forest's MOJO columns, the autoencoder's network, the thresholds."""
        stage = cls()
        stage._set(forest_cols=list(forest_cols), autoencoder=autoencoder)
        stage._set(anomaly_threshold=thresholds.anomaly, reconstruction_threshold=thresholds.reconstruction)
        stage.networks = {autoencoder: network}
        return stage

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql.functions import col
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

        prediction, detailed = self.getOrDefault("forest_cols")
        spec = self.networks[self.getOrDefault("autoencoder")]
        thresholds = Thresholds(
            anomaly=float(self.getOrDefault("anomaly_threshold")),
            reconstruction=float(self.getOrDefault("reconstruction_threshold")),
        )
        inputs = list(spec.input_columns)
        missing = [name for name in inputs if name not in dataset.columns]
        if missing:
            raise ValueError(f"OutOfDistributionFlags: pixel columns {missing[:5]} are not in the input")
        selected = dataset.withColumn(_FOREST_SCORE, col(f"{detailed}.normalizedScore").cast("double"))
        selected = selected.drop(prediction, detailed)
        kept = [name for name in selected.columns if name != _FOREST_SCORE]
        schema = to_arrow_schema(selected.select(*kept).schema)
        schema = pa.schema([*schema, *OOD_FIELDS])

        def flag_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                pixels = np.column_stack([batch.column(name).to_numpy(zero_copy_only=False) for name in inputs])
                columns = ood_columns(
                    batch.column(_FOREST_SCORE).to_numpy(zero_copy_only=False),
                    reconstruction_error(spec, pixels.astype(np.float64)),
                    thresholds,
                )
                arrays = [batch.column(name) for name in kept] + [pa.array(columns[name]) for name in OOD_COLUMNS]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)

        return selected.mapInArrow(flag_rows, from_arrow_schema(schema))


_FOREST_SCORE = "__isolation_forest_score"
OOD_FIELDS = [
    pa.field(ANOMALY_SCORE, pa.float64()),
    pa.field(ANOMALY_FLAG, pa.bool_()),
    pa.field(RECONSTRUCTION_ERROR, pa.float64()),
    pa.field(RECONSTRUCTION_FLAG, pa.bool_()),
]


def network_probability_column(member: str, klass: int) -> str:
    """The column a `NetworkProbabilities` stage writes a class's probability to."""
    return f"probability_{member}_{klass}"


class TeamPredictions(Transformer, DefaultParamsReadable, DefaultParamsWritable):  # type: ignore[misc]
    """The members' detailed predictions -> the team's: `id`, `label`, `predict`,
    `vote`, `p<class>`, `low_confidence`, `members_right`, `predict_<member>` (the
    team stage's `team/predictions_*.parquet` columns)."""

    members = Param(Params._dummy(), "members", "the kept members, in rank order", TypeConverters.toListString)
    detailed_cols = Param(
        Params._dummy(),
        "detailed_cols",
        "each member's MOJO detailed prediction column, or '' where a NetworkProbabilities stage scored it",
        TypeConverters.toListString,
    )
    classes = Param(Params._dummy(), "classes", "the label's classes", TypeConverters.toListInt)
    threshold = Param(Params._dummy(), "threshold", "low confidence below", TypeConverters.toFloat)
    carried = Param(
        Params._dummy(), "carried", "input columns copied to the output after the team's", TypeConverters.toListString
    )
    rule = Param(Params._dummy(), "rule", "the team rule: summed, weighted, selected or vote", TypeConverters.toString)
    weights = Param(
        Params._dummy(),
        "weights",
        "each member's weight, in the members' order (summing to 1); empty: equal weights",
        TypeConverters.toListFloat,
    )

    def __init__(self) -> None:
        super().__init__()
        # A stage saved before team rules loads with these: the members summed.
        self._setDefault(members=[], detailed_cols=[], classes=[], threshold=0.5, carried=[], rule="summed", weights=[])

    @classmethod
    def of(
        cls,
        rule: TeamRule,
        detailed: Sequence[str],
        classes: Sequence[int],
        threshold: float,
        carried: Sequence[str] = (),
    ) -> Any:
        """The stage for the team `rule`'s members (their detailed prediction columns, in
        its order), classes and threshold, copying the `carried` columns (the
        out-of-distribution flags) along."""
        stage = cls()
        stage._set(members=list(rule.members), detailed_cols=list(detailed), classes=list(classes), threshold=threshold)
        stage._set(carried=list(carried), rule=rule.name, weights=list(rule.weights))
        return stage

    def team_rule(self) -> TeamRule:
        """The team rule of the stage's parameters (equal weights where none are set)."""
        members, weights = list(self.getOrDefault("members")), list(self.getOrDefault("weights"))
        if not weights:
            return TeamRule.equal(self.getOrDefault("rule"), members)
        return TeamRule(self.getOrDefault("rule"), tuple(members), tuple(weights))

    def schema(self) -> pa.Schema:
        """The Arrow schema of the output."""
        classes, members = self.getOrDefault("classes"), self.getOrDefault("members")
        fields = [pa.field("id", pa.int64()), pa.field("label", pa.int32())]
        fields += [pa.field("predict", pa.int64()), pa.field("vote", pa.int64())]
        fields += [pa.field(f"p{klass}", pa.float64()) for klass in classes]
        fields += [pa.field("low_confidence", pa.bool_()), pa.field("members_right", pa.int64())]
        fields += [pa.field(f"predict_{name}", pa.int64()) for name in members]
        return pa.schema(fields)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql.functions import col
        from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

        members, classes = list(self.getOrDefault("members")), list(self.getOrDefault("classes"))
        threshold, team_schema, rule = float(self.getOrDefault("threshold")), self.schema(), self.team_rule()
        carried = list(self.getOrDefault("carried"))
        schema = pa.schema([*team_schema, *to_arrow_schema(dataset.select(*carried).schema)])
        inputs = [
            (
                col(f"{detailed}.probabilities").getItem(str(klass))
                if detailed
                else col(network_probability_column(name, klass))
            )
            .cast("double")
            .alias(f"{name}__{klass}")
            for name, detailed in zip(members, self.getOrDefault("detailed_cols"), strict=True)
            for klass in classes
        ]

        def combine(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                probabilities = {
                    name: np.column_stack(
                        [batch.column(f"{name}__{klass}").to_numpy(zero_copy_only=False) for klass in classes]
                    )
                    for name in members
                }
                ids = batch.column("id").to_numpy(zero_copy_only=False).astype(np.int64)
                labels = batch.column("label").to_numpy(zero_copy_only=False).astype(np.int64)
                table = team_predictions(ids, labels, probabilities, classes=classes, threshold=threshold, rule=rule)
                team = pa.RecordBatch.from_pandas(table, schema=team_schema, preserve_index=False)
                columns = [*team.columns, *(batch.column(name) for name in carried)]
                yield pa.RecordBatch.from_arrays(columns, schema=schema)

        selected = dataset.select(col("id").cast("long"), col("label").cast("int"), *inputs, *carried)
        return selected.mapInArrow(combine, from_arrow_schema(schema))


def member_columns(name: str) -> tuple[str, str]:
    """A member stage's prediction and detailed prediction columns."""
    return f"prediction_{name}", f"detailed_prediction_{name}"


OOD_STAGE = "isolation_forest"  # the forest's MOJO stage writes member_columns(OOD_STAGE)


def build_pipeline_model(plan: ScoringPlan, store: ModelStore, folder: Path) -> PipelineModel:
    """The stored run `plan.run_id` as a PipelineModel (networks and MOJOs copied from the
    store into `folder`, checked against the manifest).

    Raises:
        StoreError: an artifact is missing or fails its checksum.
    """
    from pyspark.ml import PipelineModel

    manifest = store.manifest(plan.run_id)
    networks = {
        ae.name: NetworkSpec.load(store.artifact(manifest, ae.model_id, "network", folder)) for ae in plan.autoencoders
    }
    links = [ChainLink(ae.name, ae.input, ae.hidden) for ae in plan.autoencoders]
    with_pixels = any(member.input == "pixels" for member in plan.members) or plan.ood is not None
    kept = list(PIXEL_COLUMNS) if with_pixels else list(plan.passthrough)
    stages: list[Any] = [DeepFeatures.of(links, networks, plan.features, kept)]
    if plan.ood is not None:
        # The forest's MOJO, then its score and the reconstruction error flagged.
        forest_cols = member_columns(OOD_STAGE)
        stages.append(_mojo_stage(store, manifest, plan.ood.isolation_forest, forest_cols, folder))
        autoencoder = plan.ood.autoencoder
        stages.append(OutOfDistributionFlags.of(forest_cols, autoencoder, networks[autoencoder], plan.ood.thresholds))
    scored_by_numpy: dict[str, NetworkSpec] = {}
    detailed_cols = []
    member_stages: list[Any] = []
    for member in plan.members:
        if "network" in manifest["models"][member.model_id].get("artifacts", {}):
            # A deep-learning member: its network in numpy (one stage for all of them).
            path = store.artifact(manifest, member.model_id, "network", folder)
            scored_by_numpy[member.name] = NetworkSpec.load(path)
            detailed_cols.append("")
            continue
        columns = member_columns(member.name)
        member_stages.append(_mojo_stage(store, manifest, member.model_id, columns, folder))
        detailed_cols.append(columns[1])
    if scored_by_numpy:
        stages.append(NetworkProbabilities.of(scored_by_numpy, plan.classes))
    stages += member_stages
    carried = OOD_COLUMNS if plan.ood is not None else ()
    stages.append(TeamPredictions.of(plan.rule, detailed_cols, list(plan.classes), plan.threshold, carried))
    return PipelineModel(stages)


def _mojo_stage(
    store: ModelStore, manifest: Mapping[str, Any], model_id: str, columns: tuple[str, str], folder: Path
) -> Any:
    """A Sparkling Water MOJO stage for a stored model (its MOJO copied into `folder`,
    checked), writing its prediction and detailed prediction to `columns`."""
    from ai.h2o.sparkling.ml.models.H2OMOJOModel import H2OMOJOModel
    from ai.h2o.sparkling.ml.models.H2OMOJOSettings import H2OMOJOSettings

    settings = H2OMOJOSettings(predictionCol=columns[0], detailedPredictionCol=columns[1])
    mojo = store.artifact(manifest, model_id, "mojo", folder)
    return H2OMOJOModel.createFromMojo("file://" + str(mojo.resolve()), settings)


def export_pipeline(plan: ScoringPlan, store: ModelStore, out: str) -> str:
    """Save the stored run `plan.run_id` as a PipelineModel at `out` (a path or URI Spark
    writes to: local, `file://`, `hdfs://`), replacing what is there.

    Raises:
        StoreError: an artifact is missing or fails its checksum.
    """
    with tempfile.TemporaryDirectory(prefix="sparkling-mnist-pipeline-") as folder:
        build_pipeline_model(plan, store, Path(folder)).write().overwrite().save(out)
    log.info("pipeline of run %s (%d members) saved to %s", plan.run_id, len(plan.members), out)
    return out


PIPELINE_FOLDER = "pipeline"  # beside the run's models in the store


def store_pipeline(plan: ScoringPlan, store: ModelStore) -> str:
    """Save the stored run's PipelineModel beside its models (`<store>/<run-id>/pipeline`).

    Spark writes it there directly for local and `hdfs://` stores. For `s3://` stores
    (Spark has no S3 client here; H2O and boto3 have theirs) it is written to a local
    folder and uploaded file by file, which needs the driver and the executors to share
    that folder (local mode, or one machine).

    Returns:
        Where the pipeline is.
    """
    target = store.location.path(plan.run_id, PIPELINE_FOLDER)
    if store.location.scheme != "s3":
        export_pipeline(plan, store, target)
    else:
        with tempfile.TemporaryDirectory(prefix="sparkling-mnist-pipeline-") as folder:
            local = Path(folder) / PIPELINE_FOLDER
            export_pipeline(plan, store, str(local))
            for path in sorted(local.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    store.files.write_bytes(f"{target}/{path.relative_to(local).as_posix()}", path.read_bytes())
        log.info("pipeline of run %s uploaded to %s", plan.run_id, target)
    files = store.record_folder(plan.run_id, PIPELINE_FOLDER)  # last: the pipeline is whole
    log.info("pipeline of run %s: %d files checksummed", plan.run_id, len(files))
    return target


def load_pipeline(path: str) -> PipelineModel:
    """`PipelineModel.load(path)` with Sparkling Water's jar on the JVM's classpath first
    (its MOJO stages' classes; a plain pyspark job without H2O has not loaded it)."""
    from ai.h2o.sparkling.Initializer import Initializer
    from pyspark.ml import PipelineModel

    Initializer.load_sparkling_jar()
    return PipelineModel.load(path)


def load_stored_pipeline(plan: ScoringPlan, store: ModelStore, folder: Path) -> PipelineModel | None:
    """The PipelineModel the store stage saved beside the run's models, checked file by
    file against its record, or None when the run has none (or an unfinished one, or
    one saved before pipelines were checksummed: the caller builds it from the run's
    checked artifacts). Spark reads local and `hdfs://` stores itself; an `s3://`
    store's pipeline is copied into `folder` first (Spark has no S3 client here).

    Raises:
        StoreError: a file of the stored pipeline is missing, truncated or altered.
    """
    target = store.location.path(plan.run_id, PIPELINE_FOLDER)
    files = [path for path in store.files.list(target) if "/." not in path]
    if not any(path.endswith("/metadata/part-00000") for path in files):
        return None
    record = store.folder_record(plan.run_id, PIPELINE_FOLDER)
    if not record:
        log.warning("run %s: the stored pipeline has no record of its files; building one from the models", plan.run_id)
        return None
    problems = store.check_folder(plan.run_id, PIPELINE_FOLDER, record)
    if problems:
        raise StoreError(f"run {plan.run_id}: the stored pipeline is damaged: {'; '.join(problems)}")
    if store.location.scheme != "s3":
        return load_pipeline(target)
    local = folder / PIPELINE_FOLDER
    for path in files:
        copy = local / path.removeprefix(target + "/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(store.files.read_bytes(path))
    return load_pipeline(str(local))
