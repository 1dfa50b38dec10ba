"""spark-submit entry point of `sparkling-mnist export-keras` (same library function).

    JAVA17_FLAGS="--add-opens=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
      --add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED \
      --add-opens=java.base/sun.net.www.protocol.https=ALL-UNNAMED \
      --add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED"
    spark-submit --master local[2] \
      --conf "spark.driver.extraJavaOptions=$JAVA17_FLAGS" \
      jobs/export_keras.py --config conf/local.yaml --run runs/local \
      --model runs/local/models/baseline --out runs/local/export/baseline.keras
"""

import sys

from sparkling_mnist.cli.export import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
