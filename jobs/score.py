"""spark-submit entry point of `sparkling-mnist score` (the same library function).

    spark-submit --conf "spark.driver.extraJavaOptions=$JAVA17_FLAGS" \
      jobs/score.py --config conf/local.yaml

($JAVA17_FLAGS and the rest of the command: README, section "spark-submit".)
"""

import sys

from sparkling_mnist.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
