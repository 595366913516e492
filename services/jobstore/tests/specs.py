"""The job the job store's unit tests start from: 1,000 pi samples in four blocks, two shards."""

from simlab_jobstore.core.jobs import JobSpec

SPEC = JobSpec(
    owner="ana",
    request_id="r1",
    model="pi",
    parameters={"samples": 1000},
    seed=7,
    shards=2,
    primary_output="estimate",
    block_size=250,
    samples_total=1000,
)
