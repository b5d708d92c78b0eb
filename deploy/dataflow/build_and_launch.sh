#!/usr/bin/env bash
# Build the pipeline's image (Cloud Build), its Flex Template spec, and launch jobs from it.
#
#   PROJECT=my-project BUCKET=my-news-bucket deploy/dataflow/build_and_launch.sh all
#
# Steps: build (image), template (spec in gs://BUCKET/templates), batch (archive -> Parquet),
# streaming (feeds -> Parquet), all (build, template, batch). Worker settings are launch
# options, never fixed in code: MACHINE_TYPE, MAX_WORKERS, NUM_WORKERS (see README).
set -euo pipefail

PROJECT="${PROJECT:?set PROJECT to your Google Cloud project id}"
BUCKET="${BUCKET:?set BUCKET to your bucket name (without gs://)}"
REGION="${REGION:-europe-west1}"
REPOSITORY="${REPOSITORY:-news}"  # Artifact Registry repository (Docker format)
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-news-pipeline@${PROJECT}.iam.gserviceaccount.com}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TAG="${TAG:-$(git -C "$ROOT" rev-parse --short HEAD)}"
IMAGE="${REGION}-docker.pkg.dev/${PROJECT}/${REPOSITORY}/news-pipeline:${TAG}"
TEMPLATE="gs://${BUCKET}/templates/news-pipeline-${TAG}.json"
INPUT="${INPUT:-gs://${BUCKET}/archive/**}"
FEEDS="${FEEDS:-gs://${BUCKET}/feeds.txt}"
OUTPUT="${OUTPUT:-gs://${BUCKET}/news}"
MACHINE_TYPE="${MACHINE_TYPE:-n2-standard-2}"
MAX_WORKERS="${MAX_WORKERS:-10}"
NUM_WORKERS="${NUM_WORKERS:-1}"

build_image() {
    # Uploads the repository (files .gitignore lists stay home) and builds the Dockerfile.
    gcloud builds submit "$ROOT" \
        --project "$PROJECT" \
        --region "$REGION" \
        --config "$ROOT/deploy/dataflow/cloudbuild.yaml" \
        --substitutions "_IMAGE=${IMAGE}"
}

build_template() {
    gcloud dataflow flex-template build "$TEMPLATE" \
        --project "$PROJECT" \
        --image "$IMAGE" \
        --sdk-language PYTHON \
        --metadata-file "$ROOT/deploy/dataflow/metadata.json"
}

# run_job NAME PARAMETERS [extra gcloud flags...]; PARAMETERS (ours, metadata.json) are
# separated by '~' (gcloud's ^~^ syntax) because globs or CIDR lists may hold commas. Beam's
# own options go in --additional-pipeline-options: the workers run the template's image.
run_job() {
    local name="$1" parameters="$2"
    shift 2
    gcloud dataflow flex-template run "${name}-$(date -u +%Y%m%d-%H%M%S)" \
        --project "$PROJECT" \
        --region "$REGION" \
        --template-file-gcs-location "$TEMPLATE" \
        --service-account-email "$SERVICE_ACCOUNT" \
        --temp-location "gs://${BUCKET}/tmp" \
        --staging-location "gs://${BUCKET}/staging" \
        --worker-machine-type "$MACHINE_TYPE" \
        --num-workers "$NUM_WORKERS" \
        --max-workers "$MAX_WORKERS" \
        --parameters "^~^${parameters}" \
        --additional-pipeline-options "sdk_container_image=${IMAGE}" \
        "$@"
}

launch_batch() {
    run_job news-batch "input=${INPUT}~output=${OUTPUT}"
}

launch_streaming() {
    run_job news-live "feeds=${FEEDS}~output=${OUTPUT}~archive=gs://${BUCKET}/warc" \
        --enable-streaming-engine
}

case "${1:-all}" in
    build) build_image ;;
    template) build_template ;;
    batch) launch_batch ;;
    streaming) launch_streaming ;;
    all)
        build_image
        build_template
        launch_batch
        ;;
    *)
        echo "usage: $0 [build|template|batch|streaming|all]" >&2
        exit 2
        ;;
esac
